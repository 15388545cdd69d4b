"""Payments: payment requests (what a customer owes), the payments against them from any source,
refunds, chargebacks, the hosted checkout, stored mandates and card tokens, and reminders."""
