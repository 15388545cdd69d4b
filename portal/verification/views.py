"""Provider webhooks: they only name a payment (a one-cent verification or a payment on a
request); we fetch it from the provider and apply it, with its refunds and chargebacks."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from portal.adapters import get_adapters
from portal.db import get_session
from portal.payments.notifications import apply_webhook
from portal.providers import ProviderError, ProviderUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("verification", __name__, url_prefix="/providers")


@bp.post("/<provider>/webhook")
def webhook(provider: str):
    adapters = get_adapters()
    adapter = adapters.provider(provider)
    if adapter is None:  # not a provider this portal runs
        abort(404)
    session = get_session()
    try:
        payment_id = adapter.parse_webhook(request.form, request.get_data(cache=True))
    except ProviderError:
        abort(400, "webhook does not name a payment")
    try:
        known = apply_webhook(session, adapter, payment_id, clock=adapters.clock)
    except ProviderUnavailable:
        abort(503, "provider unavailable, retry later")
    if not known:
        # Answer as if handled: an unknown id reveals nothing and must not make the provider retry.
        log.info("webhook for a payment this portal does not know")
    return "", 200
