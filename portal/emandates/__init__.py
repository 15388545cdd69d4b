"""Signing at the debtor's own bank (eMandates): new mandates, amendments and B2B cancellations
through the bank adapter, and what the bank's signed acceptance report changes."""
