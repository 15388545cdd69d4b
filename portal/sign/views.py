"""Customer signing pages: open the link, fill in the mandate, verify, see the result."""

from __future__ import annotations

import logging
from datetime import datetime

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
from sqlalchemy.orm import Session

from portal import csrf
from portal.adapters import Adapters, get_adapters
from portal.banks.base import BankError, Directory
from portal.db import get_session
from portal.db import state as db_state
from portal.documents.service import mandate_pdf, read_pdf
from portal.emandates.config import bank_settings
from portal.emandates.service import directory_for
from portal.limits import configured, limiter
from portal.limits import verdict as rate_limit_verdict
from portal.mandates.links import LinkInvalid, Links, read_invitation_token
from portal.mandates.models import Invitation, InvitationPurpose, MandateStatus, SigningMethod
from portal.mandates.service import debtor_iban
from portal.qr import MEDIA_TYPES, PRINT_BOX, SCREEN_BOX, qr_image
from portal.security import allow_form_redirects
from portal.sepa import IbanError, format_iban, validate_iban
from portal.shortlinks.service import short_link_of
from portal.sign.embed import asked_embedding, embedding_for, safe_return_url
from portal.sign.fast_page import LINK_STATE
from portal.sign.form_tokens import form_token, valid_form_token
from portal.sign.forms import SignMandateForm, field_attrs, iban_message
from portal.sign.methods import (
    AttemptState,
    BankEmandateFlow,
    MethodUnavailable,
    PaymentVerificationFlow,
    SigningFlow,
    latest_attempt,
)
from portal.sign.page_cache import page_key, pages_of
from portal.sign.service import (
    LinkRefusal,
    LinkRefused,
    Signature,
    SigningPage,
    check_signable,
    load_invitation,
    open_link,
    pdf_offered,
    record_opened,
    signing_page,
    start_signing,
)
from portal.urls import external_url
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
    Most repeat visits are answered before the app dispatches them (``portal.sign.fast_page``);
    this serves the rest (a language chosen on the page or kept in the session, a HEAD). The
    link's state that one read already is not read again.

    The lookup uses the embedding parameters as sent; only a page rendered for the same,
    validated values can match (see ``portal.sign.page_cache``)."""
    known = request.environ.get(LINK_STATE)
    if known is not None and known[0] == token:
        state = known[1]
    else:
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
    cached = pages_of(current_app).get(page_key(
        token, state.mandate_version, _page_locale(), asked_embedding(request.args),
        refund_verification=state.refund_verification))
    if cached is None:
        return None
    body, g.frame_ancestors = cached
    return Response(body, mimetype="text/html")


def _flows(adapters: Adapters) -> dict[SigningMethod, SigningFlow]:
    """The signing methods this portal can run, each with the app's adapter (its payment
    provider, its bank)."""
    flows: dict[SigningMethod, SigningFlow] = {
        SigningMethod.PAYMENT_VERIFICATION: PaymentVerificationFlow(
            adapters.payment_provider,
            lambda provider: external_url("verification.webhook", provider=provider.name),
            provider_named=adapters.provider, clock=adapters.clock)}
    if adapters.bank is not None:
        flows[SigningMethod.BANK_EMANDATE] = BankEmandateFlow(adapters.bank,
                                                              bank_settings(current_app))
    return flows


def _directory(session: Session, invitation: Invitation, now: datetime) -> Directory | None:
    """The banks to choose from (cached at most a day); None while the acquirer is down and
    no copy exists."""
    bank = get_adapters().bank
    if bank is None:
        return None
    try:
        return directory_for(session, bank, invitation.mandate.scheme, now,
                             bank_settings(current_app))
    except BankError:
        log.warning("no directory of debtor banks available", exc_info=True)
        return None


def _page(session: Session, invitation: Invitation, flows: dict[SigningMethod, SigningFlow],
          now: datetime) -> SigningPage:
    return signing_page(session, invitation, flows, lambda: _directory(session, invitation, now))


@bp.get("/<token>")
@limiter.limit(configured("SIGN_OPEN"), verdict_in_view=True)
def sign(token: str):
    """The signing form, from the page cache when the link was opened before. The cache lookup
    only reads (its query overlaps the rate limit's round trip); the limit's verdict comes
    before anything is answered or written."""
    allow_form_redirects()
    cached = _cached_page(token)
    rate_limit_verdict()
    if cached is not None:
        return cached
    session = get_session()
    adapters = get_adapters()
    now = adapters.clock()
    invitation = _invitation(token)
    check_signable(invitation, now)
    record_opened(session, invitation, now)
    session.commit()
    page = _page(session, invitation, _flows(adapters), now)
    if page.waiting:
        return done(token)  # the provider or bank is still confirming: no new attempt yet
    form = SignMandateForm(formdata=None)
    form.offer(page.methods, page.directory)
    mandate = invitation.mandate
    form.name.data = mandate.debtor_name or mandate.customer.name
    form.email.data = mandate.customer.email
    typed = debtor_iban(session, mandate)  # a retry keeps what the customer typed before
    form.iban.data = format_iban(typed) if typed else None
    form.preselect_bank(mandate.bic)
    html = _render_form(token, invitation, form, page)
    embedding = embedding_for(invitation.merchant)
    canonical = tuple(embedding.query().items()) if embedding else None
    pages_of(current_app).put(page_key(token, mandate.version, _page_locale(), canonical,
                          refund_verification=mandate.merchant.refund_verification),
                 (html.encode(), g.get("frame_ancestors")))
    return html


@bp.post("/<token>")
@csrf.exempt  # the form carries a token bound to the link instead (portal.sign.form_tokens)
@limiter.limit(configured("SIGN_SUBMIT"))
def submit(token: str):
    """Record the consent and send the debtor on to the chosen method."""
    allow_form_redirects()
    session = get_session()
    adapters = get_adapters()
    now = adapters.clock()
    invitation = _invitation(token)
    check_signable(invitation, now)
    _require_form_token(invitation, request.form.get("csrf_token"))
    flows = _flows(adapters)
    page = _page(session, invitation, flows, now)
    form = SignMandateForm()
    form.offer(page.methods, page.directory)
    if not form.validate_on_submit():
        return _render_form(token, invitation, form, page), 422
    embedding = embedding_for(invitation.merchant)
    back = {"return_to": embedding.return_to} if embedding and embedding.return_to else {}
    try:
        url = start_signing(session, invitation, _signature(form, embedding is not None),
                            flows[form.chosen_method()], form.debtor_bank.data or None,
                            return_url=external_url("sign.returned", token=token, **back),
                            now=now)
    except MethodUnavailable as exc:
        session.rollback()
        return _render_form(token, invitation, form, _page(session, invitation, flows, now),
                            unavailable=exc.message or True), 503
    if embedding:  # the provider and the bank refuse frames: the host page navigates top-level
        return render_template("sign/continue.html", merchant=invitation.merchant,
                               embedding=embedding, embed_event="redirect", embed_redirect=url)
    return redirect(url, code=303)


def _signature(form: SignMandateForm, embedded: bool) -> Signature:
    return Signature(
        name=form.name.data.strip(), email=form.email.data.strip(), account=form.iban.account,
        ip=request.remote_addr, user_agent=request.user_agent.string, locale=_page_locale(),
        text_version=MANDATE_TEXT_VERSION, embedded=embedded)


def _render_form(token: str, invitation: Invitation, form: SignMandateForm, page: SigningPage,
                 *, unavailable: str | bool | None = None) -> str:
    """The signing form, with the notice for the last attempt that ended without a signature."""
    attempt = page.attempt
    retrying = attempt is not None and attempt.state is AttemptState.RETRY
    mandate = invitation.mandate
    return render_template(
        "sign/form.html", form=form, token=token, merchant=invitation.merchant,
        mandate=mandate, invitation=invitation, unavailable=unavailable,
        bank_unavailable=page.bank_unavailable,
        form_token=form_token(invitation.public_id, current_app.config["SECRET_KEY"]),
        retry=attempt if retrying else None,
        legal_text=mandate_text(mandate.scheme.value, _page_locale(),
                                invitation.merchant.legal_name),
        bank_hint=_bank_hint(form), embedding=embedding_for(invitation.merchant),
        embed_event="failed" if retrying else None,
        embed_detail=attempt.outcome if retrying and attempt else None,
    )


def _bank_hint(form: SignMandateForm) -> str:
    account = getattr(form.iban, "account", None)
    return " · ".join(filter(None, (account.bank_name, account.bic))) if account else ""


@bp.get("/<token>/return")
def returned(token: str):
    """The provider or bank sends the customer back here; we ask it, never trust the URL."""
    session = get_session()
    invitation = _invitation(token)
    mandate = invitation.mandate
    adapters = get_adapters()
    latest = latest_attempt(session, mandate, _flows(adapters))
    attempt = None
    if latest is not None:
        flow, attempt = latest
        if attempt.state in (AttemptState.OPEN, AttemptState.PENDING):
            attempt = flow.refresh(session, mandate, source="return", now=adapters.clock())
    host_page = safe_return_url(invitation.merchant, request.args.get("return_to"))
    if host_page:  # embedded: back to the merchant's page, whose frame shows the outcome
        return redirect(host_page, code=303)
    if attempt is None:
        return redirect(url_for("sign.sign", token=token), code=303)
    return redirect(url_for("sign.done", token=token), code=303)  # done offers any retry


def _pdf_state(invitation: Invitation, token: str) -> dict:
    """The sealed PDF as the link offers it: ``ready`` (with its URL), ``pending`` (being made),
    or ``gone`` (past the link's retention: the mailed copy remains)."""
    if not pdf_offered(invitation.mandate, get_adapters().clock(),
                       int(current_app.config["SIGNED_LINK_PDF_DAYS"])):
        return {"pdf": "gone", "pdf_url": None}
    if mandate_pdf(get_session(), invitation.mandate) is None:
        return {"pdf": "pending", "pdf_url": None}
    return {"pdf": "ready", "pdf_url": url_for("sign.download_pdf", token=token)}


def _status(invitation: Invitation, token: str, *, refresh: bool = False) -> dict:
    session = get_session()
    mandate = invitation.mandate
    adapters = get_adapters()
    flows = _flows(adapters)
    latest = latest_attempt(session, mandate, flows)
    attempt = latest[1] if latest else None
    if (refresh and latest is not None and latest[0].refreshes_while_waiting
            and attempt.state in (AttemptState.OPEN, AttemptState.PENDING)):
        attempt = latest[0].refresh(session, mandate, source="status page", now=adapters.clock())
        session.expire(mandate)
    still_usable = (mandate.status == MandateStatus.AWAITING_VERIFICATION
                    if invitation.purpose is InvitationPurpose.SIGN
                    else mandate.status == MandateStatus.ACTIVE and invitation.used_at is None)
    retry = still_usable and attempt is not None and attempt.state is AttemptState.RETRY
    return {
        "status": mandate.status.value,
        "reference": mandate.reference,
        "purpose": invitation.purpose.value,
        "method": attempt.method.value if attempt else None,
        "attempt": attempt.state.value if attempt else None,
        "outcome": attempt.outcome if attempt else None,
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
                           mandate=invitation.mandate, invitation=invitation, state=state,
                           embedding=embedding, return_url=invitation.return_url,
                           embed_event="signed" if state["status"] == "active" else None,
                           embed_detail=invitation.mandate.reference)


@bp.get("/<token>/status")
def status(token: str):
    """Polled by the waiting page until the mandate's signing is final (asks the bank, at
    most every EMANDATES_STATUS_MIN_INTERVAL_SECONDS, where there are no webhooks)."""
    response = jsonify(_status(_invitation(token), token, refresh=True))
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
    image = qr_image(link, fmt, box_size=PRINT_BOX if request.args.get("size") == "print"
                     else SCREEN_BOX)
    max_age = max(0, int((invitation.expires_at - get_adapters().clock()).total_seconds()))
    return Response(image, mimetype=MEDIA_TYPES[fmt],
                    headers={"Cache-Control": f"public, max-age={min(max_age, 86400)}"})
