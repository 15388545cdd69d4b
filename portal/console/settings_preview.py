"""The live preview of a merchant's branding: the real signing page, checkout page, invitation
mail and mandate PDF, rendered with sample data and the branding given (saved or not yet), so
what a merchant sees is what its customers will see. Nothing is written."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import render_template, url_for
from flask_babel import force_locale, format_date, gettext

from portal.mandates.models import InvitationPurpose, Scheme, SequenceType, SigningMethod
from portal.merchants.models import Merchant
from portal.merchants.settings_service import Branding
from portal.payments.messages import money
from portal.sign.forms import SignMandateForm
from signing.document import Branding as PdfBranding
from signing.document import Creditor, Debtor, MandateDocument
from signing.texts import MANDATE_TEXT_VERSION, mandate_text

KINDS = ("sign", "checkout", "email", "pdf")
#: The email preview carries the mail's own inline styles, and nothing that runs.
EMAIL_PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                     "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")
SAMPLE_CUSTOMER = "Jan de Vries"
SAMPLE_IBAN = "NL91ABNA0417164300"


def saved_branding(merchant: Merchant) -> Branding:
    return Branding(merchant.display_name, merchant.primary_colour, merchant.locale,
                    merchant.logo, merchant.logo_mime)


def _sample_merchant(merchant: Merchant, branding: Branding) -> SimpleNamespace:
    """The merchant as the templates read it, with the branding to preview."""
    return SimpleNamespace(
        public_id=merchant.public_id, legal_name=merchant.legal_name,
        address_line=merchant.address_line, postal_code=merchant.postal_code,
        city=merchant.city, country=merchant.country, creditor_id=merchant.creditor_id,
        display_name=branding.display_name, primary_colour=branding.primary_colour,
        locale=branding.locale, logo=branding.logo, logo_mime=branding.logo_mime,
        refund_verification=merchant.refund_verification,
        reply_to_email=merchant.reply_to_email, contact_email=merchant.contact_email)


def _logo_data_url(branding: Branding) -> str | None:
    if not branding.logo:
        return None
    return f"data:{branding.logo_mime};base64,{base64.b64encode(branding.logo).decode('ascii')}"


def _page_context(merchant: Merchant, branding: Branding, saved: bool) -> dict[str, Any]:
    """Where the page's stylesheet and logo come from: the merchant's own (saved), or the
    preview stylesheet of the colour and the logo inline (not saved yet)."""
    if saved:
        return {"merchant": _sample_merchant(merchant, branding)}
    return {"merchant": _sample_merchant(merchant, branding),
            "brand_css_url": url_for("brand.preview_stylesheet", colour=branding.primary_colour),
            "brand_logo_url": _logo_data_url(branding) or ""}


def render_preview(kind: str, merchant: Merchant, branding: Branding, *, saved: bool,
                   base_url: str, now: datetime) -> str | bytes:
    """The page (HTML) or the PDF (bytes) of ``kind`` in ``branding``'s default language."""
    with force_locale(branding.locale):
        if kind == "sign":
            return _sign_page(merchant, branding, saved)
        if kind == "checkout":
            return _checkout_page(merchant, branding, saved, now)
        if kind == "email":
            return _email(merchant, branding, saved, base_url, now)
        if kind == "pdf":
            return _pdf(merchant, branding, now)
    raise LookupError(kind)


def _sign_page(merchant: Merchant, branding: Branding, saved: bool) -> str:
    form = SignMandateForm(formdata=None)
    form.offer((SigningMethod.PAYMENT_VERIFICATION,), None)
    mandate = SimpleNamespace(reference="PREVIEW-0001", scheme=Scheme.CORE,
                              sequence_type=SequenceType.RECURRENT, max_amount_cents=None,
                              iban_masked=None)
    return render_template(
        "sign/form.html", form=form, token="preview", mandate=mandate,
        invitation=SimpleNamespace(purpose=InvitationPurpose.SIGN), unavailable=False,
        bank_unavailable=False, form_token="preview", retry=None,
        legal_text=mandate_text("CORE", branding.locale, merchant.legal_name), bank_hint="",
        embedding=None, **_page_context(merchant, branding, saved))


def _checkout_page(merchant: Merchant, branding: Branding, saved: bool, now: datetime) -> str:
    request_ = SimpleNamespace(
        public_id="preq_preview", description=gettext("Invoice") + " 2026-0042",
        invoice_number="2026-0042", amount_cents=4250, open_cents=4250, net_received_cents=0,
        due_date=(now + timedelta(days=14)).date(), allow_partial=False, offer_mandate=True)
    methods = [SimpleNamespace(id="ideal", description="iDEAL"),
               SimpleNamespace(id="creditcard", description="Card")]
    return render_template(
        "payments/checkout.html", token="preview", request_=request_, methods=methods,
        error_field=None, error=None, money=money, locale=branding.locale, chosen="ideal",
        form_token="preview", legal_text=mandate_text("CORE", branding.locale,
                                                      merchant.legal_name),
        outcome=SimpleNamespace(name="open"), **_page_context(merchant, branding, saved))


def _email(merchant: Merchant, branding: Branding, saved: bool, base_url: str,
           now: datetime) -> str:
    sample = _sample_merchant(merchant, branding)
    # The real mail links the logo on PUBLIC_BASE_URL; the preview shows it from this host.
    logo_url = (url_for("brand.logo", public_id=merchant.public_id) if saved and branding.logo
                else _logo_data_url(branding))
    customer = SimpleNamespace(name=SAMPLE_CUSTOMER, locale=branding.locale)
    subject = gettext("%(name)s asks you to sign a direct debit mandate",
                      name=branding.display_name)
    return render_template(
        "mail/invitation.html", invitation=SimpleNamespace(public_id="inv_preview"),
        merchant=sample, customer=customer, signing_url=f"{base_url}/s/preview",
        subject=subject, reminder=None, unsubscribe_url=None, logo_url=logo_url,
        valid_until=format_date(now + timedelta(days=30), "long"))


def _pdf(merchant: Merchant, branding: Branding, now: datetime) -> bytes:
    from signing import render_mandate_pdf  # WeasyPrint: loaded for a preview, not at start-up

    document = MandateDocument(
        reference="PREVIEW-0001", scheme="CORE", sequence="recurrent",
        creditor=Creditor(merchant.legal_name, (merchant.address_line,
                          f"{merchant.postal_code} {merchant.city}"), merchant.country,
                          merchant.creditor_id),
        debtor=Debtor(SAMPLE_CUSTOMER, ("Dorpsstraat 1", "1234 AB Utrecht"), "NL", SAMPLE_IBAN,
                      None, "jan@example.org"),
        signed_at=now.astimezone(UTC), place="Online", signing_method="payment_verification",
        locale=branding.locale, text_version=MANDATE_TEXT_VERSION)
    return render_mandate_pdf(document, PdfBranding(branding.display_name,
                                                    branding.primary_colour, branding.logo,
                                                    branding.logo_mime))

