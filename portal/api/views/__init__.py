"""API views: parse the request, call a service, serialize (one module per resource)."""

from portal.api.views import docs, events, invitations, mandates, oauth, payment_requests

__all__ = ["docs", "events", "invitations", "mandates", "oauth", "payment_requests"]
