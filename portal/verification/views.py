"""Provider webhooks: they only name a payment; we fetch it from the provider and apply it."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from portal.adapters import get_adapters
from portal.db import get_session
from portal.providers import ProviderError, ProviderUnavailable
from portal.verification.service import UnknownPayment, apply_provider_status, find_payment

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
        payment = find_payment(session, provider, payment_id)
    except UnknownPayment:
        # Answer as if handled: an unknown id reveals nothing and must not make the provider retry.
        log.info("webhook for a payment this portal does not know")
        return "", 200
    try:
        apply_provider_status(session, payment, adapter, source="webhook", clock=adapters.clock)
    except ProviderUnavailable:
        abort(503, "provider unavailable, retry later")
    return "", 200
