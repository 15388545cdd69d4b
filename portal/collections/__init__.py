"""Direct-debit collections: debits on active mandates, collected through the merchant's bank
(pain.008 files out, pain.002 / camt.054 / CSV returns in) or through the payment provider;
retried, then a pay link."""
