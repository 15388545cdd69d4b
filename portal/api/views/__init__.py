"""API views: parse the request, call a service, serialize (one module per resource)."""

from portal.api.views import (
    batches,
    bookkeeping,
    debits,
    docs,
    events,
    invitations,
    invoices,
    mandates,
    oauth,
    payment_requests,
    plans,
    returns,
    subscriptions,
)

__all__ = ["batches", "bookkeeping", "debits", "docs", "events", "invitations", "invoices", "mandates",
           "oauth", "payment_requests", "plans", "returns", "subscriptions"]
