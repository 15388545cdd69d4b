"""Bookkeeping: a report per period (invoices, collections, returns and retries, refunds and
chargebacks, the provider's fees and payouts, what each customer owes) as JSON, CSV and a page."""
