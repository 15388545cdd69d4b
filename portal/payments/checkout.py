"""Starting payments on a request: the customer's checkout (a one-off payment, or a first payment
that also signs a Core mandate or stores a card token), and charges on a stored mandate or card
token without the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.ids import new_public_id
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import Mandate, MandateStatus, Scheme, SequenceType
from portal.mandates.service import _unused_reference
from portal.payments.models import Payment, PaymentRequest, PaymentSource, ProviderMandate, SetsUp
from portal.payments.service import payable
from portal.providers.base import (
    SEPA_FIRST_METHODS,
    PaymentOrder,
    PaymentProvider,
    PaymentStatus,
    ProviderMethod,
    Sequence,
)

#: First payments that can leave something to charge later: SEPA for the paying account,
#: a card token for a card.
SETUP_METHODS = SEPA_FIRST_METHODS | {"creditcard"}


class CheckoutRefused(ValueError):
    """The choice cannot be paid (method not offered, amount out of range, link closed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Consent:
    """The customer's consent to a mandate at the checkout, and its circumstances."""

    ip: str | None
    user_agent: str | None
    locale: str
    text_version: str


@dataclass(frozen=True)
class CheckoutChoice:
    method: str
    #: None: the whole open amount.
    amount_cents: int | None = None
    #: "Pay this and future invoices" (a Core mandate, or a card token); needs ``consent``.
    set_up: bool = False
    consent: Consent | None = None


def offered_methods(request: PaymentRequest, enabled: list[ProviderMethod]) -> list[ProviderMethod]:
    """The merchant's enabled methods this request allows, for its open amount."""
    allowed = set(request.methods) if request.methods else None
    return [m for m in enabled if m.id != "directdebit" and (allowed is None or m.id in allowed)]


def start_checkout(session: Session, request: PaymentRequest, provider: PaymentProvider,
                   choice: CheckoutChoice, *, offered: list[ProviderMethod], return_url: str,
                   webhook_url: str | None, now: datetime) -> Payment:
    """Create the payment at the provider; the caller commits and sends the customer to its
    ``checkout_url``. With ``set_up`` by iDEAL or Bancontact the mandate is signed now (consent,
    evidence) and becomes active, with the paying account as its IBAN, once the bank confirms."""
    if not payable(request, now):
        raise CheckoutRefused("request", "This request can no longer be paid.")
    if choice.method not in {m.id for m in offered}:
        raise CheckoutRefused("method", "Choose one of the payment methods shown.")
    amount = request.open_cents if choice.amount_cents is None else choice.amount_cents
    if choice.amount_cents is not None and not request.allow_partial \
            and amount != request.open_cents:
        raise CheckoutRefused("amount", "This request is paid in full.")
    method = next(m for m in offered if m.id == choice.method)
    if not 1 <= amount <= request.open_cents or (
            method.minimum_cents and amount < method.minimum_cents):
        raise CheckoutRefused("amount", "Choose an amount up to what is open.")
    sets_up = None
    mandate = None
    if choice.set_up:
        if not request.offer_mandate or choice.method not in SETUP_METHODS:
            raise CheckoutRefused("set_up", "Future payments can be set up with iDEAL, "
                                            "Bancontact or a card only.")
        if choice.consent is None:
            raise CheckoutRefused("consent", "Consent is needed for future payments.")
        if choice.method == "creditcard":
            sets_up = SetsUp.CARD_MANDATE
        else:
            sets_up = SetsUp.SEPA_MANDATE
            mandate = sign_checkout_mandate(session, request, choice.consent, now=now)
    payment = Payment(
        public_id=new_public_id("ptx"), merchant_id=request.merchant_id, request=request,
        source=PaymentSource.PROVIDER, provider=provider.name, method=choice.method,
        sequence=(Sequence.FIRST if sets_up else Sequence.ONEOFF).value,
        status=PaymentStatus.OPEN, amount_cents=amount, refunded_cents=0, charged_back_cents=0,
        sets_up=sets_up, mandate=mandate, history=[], created_at=now, updated_at=now,
        evidence=_evidence(choice.consent, now) if sets_up else None)
    session.add(payment)
    session.flush()
    customer = request.customer
    remote = provider.create_payment(PaymentOrder(
        amount_cents=amount, currency="EUR",
        description=f"{request.merchant.display_name[:40]} {request.invoice_number or ''}"
                    f" {request.description}".strip()[:140],
        redirect_url=f"{return_url}?payment={payment.public_id}", webhook_url=webhook_url,
        metadata={"payment_request": request.public_id, "payment": payment.public_id},
        customer_name=customer.name, customer_email=customer.email, locale=customer.locale,
        sequence=Sequence.FIRST if sets_up else Sequence.ONEOFF, method=choice.method))
    payment.provider_payment_id = remote.id
    payment.checkout_url = remote.checkout_url
    payment.history = [{"status": remote.status.value, "at": now.isoformat(), "source": "create"}]
    record_audit(session, action="payment.start", subject=payment.public_id, actor="customer",
                 merchant_id=request.merchant_id, now=now,
                 data={"payment_request": request.public_id, "provider": provider.name,
                       "provider_payment_id": remote.id, "amount_cents": amount,
                       "method": choice.method, "sets_up": sets_up.value if sets_up else None})
    return payment


def _evidence(consent: Consent | None, now: datetime) -> dict[str, object] | None:
    if consent is None:
        return None
    return {"consent_at": now.isoformat(), "ip": consent.ip,
            "user_agent": (consent.user_agent or "")[:400], "locale": consent.locale,
            "text_version": consent.text_version}


def sign_checkout_mandate(session: Session, request: PaymentRequest, consent: Consent, *,
                          now: datetime) -> Mandate:
    """A Core mandate signed at the checkout, as the Core journey signs one: the mandate text
    in the customer's language and its version, consent, IP and user agent as evidence; it
    awaits the first payment, whose account becomes the IBAN of record."""
    merchant, customer = request.merchant, request.customer
    mandate = Mandate(
        public_id=new_public_id("md"), merchant_id=merchant.id, customer=customer,
        reference=_unused_reference(session, merchant), scheme=Scheme.CORE,
        sequence_type=SequenceType.RECURRENT, status=MandateStatus.INVITED,
        locale=consent.locale, debtor_name=None, text_version=consent.text_version,
        created_at=now, updated_at=now)
    session.add(mandate)
    session.flush()
    mandate.evidence = {
        "consent_at": now.isoformat(), "ip": consent.ip,
        "user_agent": (consent.user_agent or "")[:400], "locale": consent.locale,
        "text_version": consent.text_version, "typed_iban_masked": None, "embedded": False,
        "checkout": request.public_id}
    record_audit(session, action="mandate.create", subject=mandate.public_id, actor="customer",
                 merchant_id=merchant.id, now=now,
                 data={"payment_request": request.public_id, "reference": mandate.reference,
                       "scheme": mandate.scheme.value, "sequence_type": "recurrent"})
    emit_event(session, merchant_id=merchant.id, type="mandate.created",
               subject=mandate.public_id, now=now,
               data={"mandate": mandate.public_id, "payment_request": request.public_id,
                     "reference": mandate.reference, "status": mandate.status.value})
    apply_transition(session, mandate, MandateAction.SUBMIT, actor="customer", now=now,
                     data={"ip": consent.ip, "locale": consent.locale,
                           "text_version": consent.text_version,
                           "payment_request": request.public_id})
    return mandate


def charge_stored_mandate(session: Session, request: PaymentRequest, stored: ProviderMandate,
                          provider: PaymentProvider, *, webhook_url: str | None,
                          redirect_url: str, now: datetime) -> Payment:
    """Charge the open amount on a stored card token or provider SEPA mandate, without the
    customer (the payment's id is the provider's idempotency key). The caller commits, then
    applies the outcome (:func:`portal.payments.confirmation.apply_provider_payment`)."""
    payment = Payment(
        public_id=new_public_id("ptx"), merchant_id=request.merchant_id, request=request,
        source=PaymentSource.PROVIDER, provider=provider.name, method=stored.method,
        sequence=Sequence.RECURRING.value, status=PaymentStatus.OPEN,
        amount_cents=request.open_cents, refunded_cents=0, charged_back_cents=0,
        stored_mandate=stored, mandate=stored.mandate, history=[], created_at=now,
        updated_at=now)
    session.add(payment)
    session.flush()
    customer = request.customer
    remote = provider.create_payment(PaymentOrder(
        amount_cents=payment.amount_cents, currency="EUR",
        description=f"{request.merchant.display_name[:40]} {request.invoice_number or ''}"
                    f" {request.description}".strip()[:140],
        redirect_url=redirect_url, webhook_url=webhook_url,
        metadata={"payment_request": request.public_id, "payment": payment.public_id},
        customer_name=customer.name, customer_email=customer.email, locale=customer.locale,
        sequence=Sequence.RECURRING, method=None,
        provider_customer_id=stored.provider_customer_id,
        provider_mandate_id=stored.provider_mandate_ref, idempotency_key=payment.public_id))
    payment.provider_payment_id = remote.id
    payment.history = [{"status": PaymentStatus.OPEN.value, "at": now.isoformat(),
                        "source": "create"}]
    stored.last_charged_at = now
    record_audit(session, action="payment.charge", subject=payment.public_id, actor="system",
                 merchant_id=request.merchant_id, now=now,
                 data={"payment_request": request.public_id, "stored_mandate": stored.public_id,
                       "provider_payment_id": remote.id, "amount_cents": payment.amount_cents})
    return payment
