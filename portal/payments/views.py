"""The customer's checkout: ``/pay/<token>`` (from the signed link, the short link or its QR
code), the return from the provider, the outcome page with the receipt, and the QR code."""

from __future__ import annotations

import logging
import time

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, get_locale

from portal import csrf
from portal.adapters import get_adapters
from portal.db import get_session
from portal.limits import configured, limiter
from portal.mandates.links import Links
from portal.payments.checkout import (
    CheckoutChoice,
    CheckoutRefused,
    Consent,
    offered_methods,
    start_checkout,
)
from portal.payments.confirmation import apply_provider_payment
from portal.payments.messages import money
from portal.payments.models import PaymentRequest
from portal.payments.pages import CheckoutLinkRefused, load_request, outcome, payment_of
from portal.providers import ProviderError
from portal.qr import MEDIA_TYPES, PRINT_BOX, SCREEN_BOX, qr_image
from portal.security import allow_form_redirects
from portal.shortlinks.service import create_request_short_link
from portal.sign.form_tokens import form_token, valid_form_token
from portal.urls import external_url
from signing.texts import MANDATE_TEXT_VERSION, mandate_text

log = logging.getLogger(__name__)
bp = Blueprint("pay", __name__, url_prefix="/pay")
bp.add_app_template_filter(lambda day: format_date(day, "long") if day else "",
                           "format_date_long")
#: Form tokens for checkout pages are bound to the request, under their own purpose.
TOKEN_PREFIX = "checkout:"


def _request(token: str) -> PaymentRequest:
    config = current_app.config
    found = load_request(get_session(), token, config["SECRET_KEY"],
                         config["SECRET_KEY_FALLBACKS"])
    g.locale_hint = found.customer.locale
    return found


@bp.errorhandler(CheckoutLinkRefused)
def refused(exc: CheckoutLinkRefused):
    return render_template("payments/refused.html", reason=exc.reason, merchant=None), (
        400 if exc.reason == "invalid" else 404)


#: How long the provider's list of enabled methods is kept per process (a Mollie call).
METHODS_TTL_SECONDS = 300.0


def _methods(found: PaymentRequest):
    provider = get_adapters().payment_provider
    cache = current_app.extensions.setdefault("pay_methods", {})
    now = time.monotonic()
    entry = cache.get(provider.name)
    if entry is None or now - entry[0] > METHODS_TTL_SECONDS:
        entry = cache[provider.name] = (now, provider.enabled_methods())
    return provider, offered_methods(found, entry[1])


def _page(token: str, found: PaymentRequest, *, error_field: str | None = None,
          error: str | None = None, status: int = 200):
    _, methods = _methods(found)
    locale = str(get_locale())
    return render_template(
        "payments/checkout.html", token=token, request_=found, merchant=found.merchant,
        methods=methods, error_field=error_field, error=error, money=money, locale=locale,
        chosen=request.form.get("method") or (methods[0].id if methods else None),
        form_token=form_token(TOKEN_PREFIX + found.public_id, current_app.config["SECRET_KEY"]),
        legal_text=mandate_text("CORE", locale, found.merchant.legal_name),
        outcome=outcome(found, None, get_adapters().clock())), status


@bp.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # the form carries a token bound to the request instead (portal.sign.form_tokens)
@limiter.limit(configured("SIGN_OPEN"), methods=["GET"])
@limiter.limit(configured("SIGN_SUBMIT"), methods=["POST"])
def checkout(token: str):
    allow_form_redirects()
    found = _request(token)
    now = get_adapters().clock()
    state = outcome(found, None, now)
    if not state.can_pay:
        return _outcome_page(token, found, None)
    if request.method == "GET":
        return _page(token, found)
    config = current_app.config
    if not valid_form_token(TOKEN_PREFIX + found.public_id, request.form.get("csrf_token"),
                            config["SECRET_KEY"], config["SECRET_KEY_FALLBACKS"]):
        return _page(token, found, error_field="form", status=400,
                     error="The form was not sent from this page. Open the link again.")
    amount = None
    if found.allow_partial and request.form.get("amount"):
        amount = _cents(request.form["amount"])
        if amount is None:
            return _page(token, found, error_field="amount", status=422,
                         error="Enter an amount like 12.50.")
    set_up = request.form.get("set_up") == "y"
    consent = None
    if set_up and request.form.get("consent") == "y":
        consent = Consent(ip=request.remote_addr, user_agent=request.user_agent.string,
                          locale=str(get_locale()), text_version=MANDATE_TEXT_VERSION)
    session = get_session()
    provider, methods = _methods(found)
    try:
        payment = start_checkout(
            session, found, provider, CheckoutChoice(
                method=request.form.get("method", ""), amount_cents=amount, set_up=set_up,
                consent=consent),
            offered=methods, return_url=external_url("pay.returned", token=token),
            webhook_url=external_url("verification.webhook", provider=provider.name), now=now)
    except CheckoutRefused as exc:
        session.rollback()
        return _page(token, found, error_field=exc.field, error=str(exc), status=422)
    except ProviderError:
        log.warning("payment provider refused to start a checkout payment", exc_info=True)
        session.rollback()
        return _page(token, found, error_field="provider", status=503,
                     error="The payment service is unavailable right now.")
    session.commit()
    return redirect(payment.checkout_url or url_for("pay.done", token=token,
                                                    payment=payment.public_id), code=303)


def _cents(text: str) -> int | None:
    cleaned = text.strip().replace("€", "").replace(" ", "").replace(",", ".")
    whole, _, fraction = cleaned.partition(".")
    if not whole.isdigit() or len(whole) > 7 or (fraction and not (
            fraction.isdigit() and len(fraction) <= 2)):
        return None
    return int(whole) * 100 + int((fraction or "0").ljust(2, "0"))


@bp.get("/<token>/return")
def returned(token: str):
    """The provider sends the customer back here; we ask the provider, never trust the URL."""
    found = _request(token)
    session = get_session()
    payment = payment_of(session, found, request.args.get("payment"))
    if payment is not None and payment.provider:
        adapters = get_adapters()
        provider = adapters.provider(payment.provider)
        try:
            if provider is None:  # a provider this portal no longer runs
                raise ProviderError(f"payment provider {payment.provider!r} is not configured")
            apply_provider_payment(session, payment, provider, source="return",
                                   now=adapters.clock())
        except ProviderError:
            log.warning("provider unavailable on return; the webhook will settle it",
                        exc_info=True)
    return redirect(url_for("pay.done", token=token,
                            **({"payment": payment.public_id} if payment else {})), code=303)


def _outcome_page(token: str, found: PaymentRequest, payment_id: str | None):
    session = get_session()
    payment = payment_of(session, found, payment_id)
    state = outcome(found, payment, get_adapters().clock())
    return render_template(
        "payments/outcome.html", token=token, request_=found, merchant=found.merchant,
        payment=payment, outcome=state, money=money, locale=str(get_locale())), state.status


@bp.get("/<token>/done")
def done(token: str):
    return _outcome_page(token, _request(token), request.args.get("payment"))


@bp.get("/<token>/status")
def status(token: str):
    """Polled by the outcome page while the bank confirms."""
    found = _request(token)
    payment = payment_of(get_session(), found, request.args.get("payment"))
    response = jsonify(outcome=outcome(found, payment, get_adapters().clock()).name,
                       status=found.status.value)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<token>/qr.<fmt>")
def qr(token: str, fmt: str):
    """The request's short link as a QR code (SVG, or PNG with ``?size=print`` for print)."""
    found = _request(token)
    if fmt not in ("png", "svg"):
        raise CheckoutLinkRefused("unknown")
    session = get_session()
    link = create_request_short_link(session, found, now=get_adapters().clock())
    session.commit()
    image = qr_image(Links.from_config(current_app.config).short_url(link.code), fmt,
                     box_size=PRINT_BOX if request.args.get("size") == "print" else SCREEN_BOX)
    return Response(image, mimetype=MEDIA_TYPES[fmt],
                    headers={"Cache-Control": "private, max-age=3600"})
