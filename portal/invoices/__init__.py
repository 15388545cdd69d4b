"""Invoices: numbered per merchant, each collected once (a debit or a payment request), paid by
themselves when their money arrives, and printable as PDF."""
