"""Signed checkout links: the token carries only the payment request's opaque id."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from portal.payments.models import PaymentRequest

SALT = "portal.payment-link.v1"


class CheckoutLinkInvalid(Exception):
    """The token was tampered with, truncated or made with an unknown key."""


def _serializer(secret_key: str, fallbacks: list[str] | tuple[str, ...]) -> URLSafeSerializer:
    return URLSafeSerializer([*fallbacks, secret_key], salt=SALT)


def make_checkout_token(public_id: str, secret_key: str,
                        fallbacks: list[str] | tuple[str, ...] = ()) -> str:
    return _serializer(secret_key, fallbacks).dumps(public_id)


def read_checkout_token(token: str, secret_key: str,
                        fallbacks: list[str] | tuple[str, ...] = ()) -> str:
    """The payment request's public id, or :class:`CheckoutLinkInvalid`."""
    try:
        public_id = _serializer(secret_key, fallbacks).loads(token)
    except (BadData, ValueError, TypeError) as exc:
        raise CheckoutLinkInvalid("link signature does not verify") from exc
    if not isinstance(public_id, str):
        raise CheckoutLinkInvalid("malformed link")
    return public_id


def checkout_token(request: PaymentRequest) -> str:
    config = current_app.config
    return make_checkout_token(request.public_id, config["SECRET_KEY"],
                               config["SECRET_KEY_FALLBACKS"])


def checkout_url(request: PaymentRequest) -> str:
    """The customer's checkout page, made with the app's current secret key."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/pay/{checkout_token(request)}"


def provider_webhook_url(provider: str) -> str:
    """Where the provider reports payments (``/providers/<name>/webhook``); built from
    ``PUBLIC_BASE_URL`` so jobs can use it outside a request."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/providers/{provider}/webhook"
