"""Customer signing pages: open the link, fill in the mandate, verify, see the result."""

from __future__ import annotations

import io
import logging

import qrcode
import qrcode.image.svg
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
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError

from portal import csrf
from portal.adapters import get_adapters
from portal.db import get_session
from portal.db import state as db_state
from portal.documents.service import mandate_pdf, read_pdf
from portal.limits import configured, limiter
from portal.mandates.links import LinkInvalid, Links, read_invitation_token
from portal.mandates.models import Invitation, MandateStatus
from portal.mandates.service import debtor_iban
from portal.providers import PaymentStatus, ProviderError
from portal.security import allow_form_redirects
from portal.sepa import IbanError, format_iban, validate_iban
from portal.shortlinks.service import short_link_of
from portal.sign.embed import Embedding, embedding_for, safe_return_url
from portal.sign.form_tokens import form_token, valid_form_token
from portal.sign.forms import SignMandateForm, field_attrs, iban_message
from portal.sign.page_cache import PageCache, page_key
from portal.sign.service import (
    LinkRefusal,
    LinkRefused,
    Signature,
    check_signable,
    load_invitation,
    open_link,
    pdf_offered,
    record_opened,
    submit_signature,
)
from portal.urls import external_url
from portal.verification.service import (
    Outcome,
    apply_provider_status,
    latest_payment,
    start_verification,
)
from signing.texts import MANDATE_TEXT_VERSION, mandate_text

log = logging.getLogger(__name__)
bp = Blueprint("sign", __name__, url_prefix="/sign")
bp.add_app_template_global(field_attrs)

REFUSAL_STATUS = {
    LinkRefusal.INVALID: 400,
    LinkRefusal.UNKNOWN: 404,
    LinkRefusal.EXPIRED: 410,
    LinkRefusal.WITHDRAWN: 410,
    LinkRefusal.SIGNED: 410,
    LinkRefusal.CLOSED: 410,
}


def _invitation(token: str) -> Invitation:
    config = current_app.config
    invitation = load_invitation(get_session(), token, config["SECRET_KEY"],
                                 config["SECRET_KEY_FALLBACKS"])
    g.locale_hint = invitation.mandate.customer.locale
    return invitation


@bp.errorhandler(LinkRefused)
def refused(exc: LinkRefused):
    invitation = exc.invitation
    merchant = invitation.merchant if invitation else None
    signed = exc.reason == LinkRefusal.SIGNED
    embedding = embedding_for(merchant) if merchant else None
    if signed and embedding:  # back on the merchant's page after paying: the confirmation
        return done(request.view_args["token"])
    pdf = _pdf_state(invitation, request.view_args["token"]) if signed and invitation else None
    return render_template(
        "sign/refused.html", reason=exc.reason.value, merchant=merchant, pdf=pdf,
        mandate=invitation.mandate if invitation else None,
        embedding=embedding, embed_event="signed" if signed else "failed",
        embed_detail=invitation.mandate.reference if signed else exc.reason.value,
    ), REFUSAL_STATUS[exc.reason]


def _page_locale() -> str:
    return str(get_locale())


def _require_form_token(invitation: Invitation, offered: str | None) -> None:
    config = current_app.config
    if not valid_form_token(invitation.public_id, offered, config["SECRET_KEY"],
                            config["SECRET_KEY_FALLBACKS"]):
        raise CSRFError("The form was not sent from this signing page. Open the link again.")


def _cached_page(token: str) -> Response | None:
    """A repeat visit of a signable link: one small query, then the page rendered before.

    The lookup uses the embedding parameters as sent; only a page rendered for the same,
    validated values can match (see ``portal.sign.page_cache``)."""
    config = current_app.config
    try:
        public_id, _ = read_invitation_token(token, config["SECRET_KEY"],
                                             config["SECRET_KEY_FALLBACKS"])
    except LinkInvalid:
        return None
    state = open_link(db_state().reads, public_id, get_adapters().clock())
    if state is None:
        return None
    g.locale_hint = state.locale_hint
    args = request.args
    asked = None
    if args.get("embed") == "1" and args.get("origin"):
        asked = tuple(Embedding(args["origin"], args.get("return_to")).query().items())
    cached = _pages().get(page_key(token, state.mandate_version, _page_locale(), asked,
                                   refund_verification=state.refund_verification))
    if cached is None:
        return None
    body, g.frame_ancestors = cached
    return Response(body, mimetype="text/html")


def _pages() -> PageCache:
    return current_app.extensions.setdefault("sign_pages", PageCache())


@bp.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # the form carries a token bound to the link instead (portal.sign.form_tokens)
@limiter.limit(configured("SIGN_OPEN"), methods=["GET"])
@limiter.limit(configured("SIGN_SUBMIT"), methods=["POST"])
def sign(token: str):
    allow_form_redirects()
    if request.method == "GET" and (cached := _cached_page(token)) is not None:
        return cached
    session = get_session()
    adapters = get_adapters()
    now = adapters.clock()
    invitation = _invitation(token)
    check_signable(invitation, now)
    mandate = invitation.mandate
    embedding = embedding_for(invitation.merchant)
    last = latest_payment(session, mandate)
    if request.method == "GET" and last is not None and last.status == PaymentStatus.PENDING:
        return done(token)  # the bank is still confirming: no new attempt yet
    form = SignMandateForm()
    if request.method == "POST":
        _require_form_token(invitation, request.form.get("csrf_token"))
    if request.method == "GET":
        record_opened(session, invitation, now)
        session.commit()
        form.name.data = form.name.data or mandate.debtor_name or mandate.customer.name
        form.email.data = form.email.data or mandate.customer.email
        typed = debtor_iban(session, mandate)  # a retry keeps what the customer typed before
        form.iban.data = form.iban.data or (format_iban(typed) if typed else None)
    provider_error = False
    if form.validate_on_submit():
        signature = Signature(
            name=form.name.data.strip(), email=form.email.data.strip(),
            account=form.iban.account, ip=request.remote_addr,
            user_agent=request.user_agent.string, locale=_page_locale(),
            text_version=MANDATE_TEXT_VERSION, embedded=embedding is not None,
        )
        submit_signature(session, invitation, signature, now)
        provider = adapters.payment_provider
        back = {"return_to": embedding.return_to} if embedding and embedding.return_to else {}
        try:
            payment = start_verification(
                session, mandate, provider,
                return_url=external_url("sign.returned", token=token, **back),
                webhook_url=external_url("verification.webhook", provider=provider.name),
                now=now)
        except ProviderError:
            log.warning("payment provider refused to start a verification", exc_info=True)
            session.rollback()
            provider_error = True
        else:
            session.commit()
            log.info("mandate %s awaits verification payment %s", mandate.public_id,
                     payment.public_id)
            if embedding:  # the provider refuses frames: the host page navigates top-level
                return render_template("sign/continue.html", merchant=invitation.merchant,
                                       embedding=embedding, embed_event="redirect",
                                       embed_redirect=payment.checkout_url)
            return redirect(payment.checkout_url, code=303)
        last = latest_payment(session, mandate)
    retrying = last is not None and last.status.is_final and not last.status.is_success
    status = 503 if provider_error else 422 if form.errors else 200
    html = render_template(
        "sign/form.html", form=form, token=token, merchant=invitation.merchant,
        mandate=mandate, provider_error=provider_error,
        form_token=form_token(invitation.public_id, current_app.config["SECRET_KEY"]),
        retry_status=last.status.value if retrying else None,
        legal_text=mandate_text(mandate.scheme.value, _page_locale(),
                                invitation.merchant.legal_name),
        bank_hint=_bank_hint(form), embedding=embedding,
        embed_event="failed" if retrying else None,
        embed_detail=last.status.value if retrying else None,
    )
    if request.method == "GET":
        canonical = tuple(embedding.query().items()) if embedding else None
        _pages().put(page_key(token, mandate.version, _page_locale(), canonical,
                              refund_verification=mandate.merchant.refund_verification),
                     (html.encode(), g.get("frame_ancestors")))
    return html, status


def _bank_hint(form: SignMandateForm) -> str:
    account = getattr(form.iban, "account", None)
    return " · ".join(filter(None, (account.bank_name, account.bic))) if account else ""


@bp.get("/<token>/return")
def returned(token: str):
    """The provider sends the customer back here; we ask the provider, never trust the URL."""
    session = get_session()
    invitation = _invitation(token)
    mandate = invitation.mandate
    payment = latest_payment(session, mandate)
    adapters = get_adapters()
    provider = adapters.provider(payment.provider) if payment is not None else None
    outcome = None
    if payment is not None and mandate.status == MandateStatus.AWAITING_VERIFICATION:
        try:
            if provider is None:  # a provider this portal no longer runs
                raise ProviderError(f"payment provider {payment.provider!r} is not configured")
            outcome = apply_provider_status(session, payment, provider, source="return",
                                            clock=adapters.clock)
        except ProviderError:
            log.warning("provider unavailable on return; the webhook will settle it", exc_info=True)
            outcome = Outcome.PENDING
    host_page = safe_return_url(invitation.merchant, request.args.get("return_to"))
    if host_page:  # embedded: back to the merchant's page, whose frame shows the outcome
        return redirect(host_page, code=303)
    if payment is None or outcome == Outcome.RETRY:
        return redirect(url_for("sign.sign", token=token), code=303)
    return redirect(url_for("sign.done", token=token), code=303)


def _pdf_state(invitation: Invitation, token: str) -> dict:
    """The sealed PDF as the link offers it: ``ready`` (with its URL), ``pending`` (being made),
    or ``gone`` (past the link's retention: the mailed copy remains)."""
    if not pdf_offered(invitation.mandate, get_adapters().clock(),
                       int(current_app.config["SIGNED_LINK_PDF_DAYS"])):
        return {"pdf": "gone", "pdf_url": None}
    if mandate_pdf(get_session(), invitation.mandate) is None:
        return {"pdf": "pending", "pdf_url": None}
    return {"pdf": "ready", "pdf_url": url_for("sign.download_pdf", token=token)}


def _status(invitation: Invitation, token: str) -> dict:
    session = get_session()
    mandate = invitation.mandate
    payment = latest_payment(session, mandate)
    retry = (mandate.status == MandateStatus.AWAITING_VERIFICATION and payment is not None
             and payment.status.is_final and not payment.status.is_success)
    return {
        "status": mandate.status.value,
        "reference": mandate.reference,
        "retry": retry,
        **_pdf_state(invitation, token),
    }


@bp.get("/<token>/done")
def done(token: str):
    invitation = _invitation(token)
    state = _status(invitation, token)
    if state["retry"]:
        return redirect(url_for("sign.sign", token=token), code=303)
    embedding = embedding_for(invitation.merchant)
    return render_template("sign/done.html", token=token, merchant=invitation.merchant,
                           mandate=invitation.mandate, state=state, embedding=embedding,
                           return_url=invitation.return_url,
                           embed_event="signed" if state["status"] == "active" else None,
                           embed_detail=invitation.mandate.reference)


@bp.get("/<token>/status")
def status(token: str):
    """Polled by the confirmation page until the mandate is active."""
    response = jsonify(_status(_invitation(token), token))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<token>/mandate.pdf")
def download_pdf(token: str):
    """The customer's copy of the sealed mandate, for as long as the link offers it."""
    invitation = _invitation(token)
    state = _pdf_state(invitation, token)
    if state["pdf"] == "gone":
        return refused(LinkRefused(LinkRefusal.EXPIRED, invitation))
    record = mandate_pdf(get_session(), invitation.mandate)
    if record is None:
        return refused(LinkRefused(LinkRefusal.UNKNOWN))
    return Response(read_pdf(get_adapters().pdf_store, record), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="mandate-{invitation.mandate.reference}.pdf"',
        "Cache-Control": "private, no-store"})


@bp.post("/<token>/iban")
@csrf.exempt  # checked against the link-bound form token below
def check_iban(token: str):
    """Live IBAN feedback while typing: the bank's name and BIC, or the specific mistake.
    A POST, so the IBAN never lands in a URL (access logs, proxies, history)."""
    _require_form_token(_invitation(token), request.headers.get("X-CSRFToken"))
    body = request.get_json(silent=True)
    value = body.get("value") if isinstance(body, dict) else None
    try:
        account = validate_iban(value[:80] if isinstance(value, str) else "")
    except IbanError as exc:
        return jsonify(valid=False, message=iban_message(exc))
    return jsonify(valid=True, formatted=account.formatted, bic=account.bic,
                   bank_name=account.bank_name)


@bp.get("/<token>/qr.<fmt>")
def qr(token: str, fmt: str):
    """The invitation's short link as a QR code (fewer modules, easier to scan): SVG for print,
    PNG for screens (``?size=print`` for a large PNG)."""
    invitation = _invitation(token)
    if fmt not in ("png", "svg"):
        return refused(LinkRefused(LinkRefusal.UNKNOWN))
    short = short_link_of(get_session(), invitation)
    link = (Links.from_config(current_app.config).short_url(short.code) if short
            else external_url("sign.sign", token=token))
    print_size = request.args.get("size") == "print"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                         box_size=30 if print_size else 8, border=4)
    code.add_data(link)
    code.make(fit=True)
    buffer = io.BytesIO()
    if fmt == "svg":
        code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
        mimetype = "image/svg+xml"
    else:
        code.make_image().save(buffer)
        mimetype = "image/png"
    max_age = max(0, int((invitation.expires_at - get_adapters().clock()).total_seconds()))
    return Response(buffer.getvalue(), mimetype=mimetype,
                    headers={"Cache-Control": f"public, max-age={min(max_age, 86400)}"})
