"""The sandbox payment provider: iDEAL, card (a token, never a number), Bancontact and PayPal
inside the portal, so every journey and every outcome works offline.

First payments leave a mandate behind (SEPA for iDEAL and Bancontact, a card token for cards);
recurring charges on a card answer at once, on a SEPA mandate they stay pending until the tester
settles them; refunds stay pending until settled; chargebacks come when the tester makes one."""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session, object_session

from portal.clock import Clock
from portal.crypto import FieldCipher
from portal.db import cipher_of
from portal.providers.base import (
    METHODS,
    MandateState,
    PaymentNotFound,
    PaymentOrder,
    PaymentStatus,
    ProviderChargeback,
    ProviderError,
    ProviderMandate,
    ProviderMethod,
    ProviderPayment,
    ProviderRefund,
    RefundState,
    Sequence,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementLineKind,
)
from portal.sandbox.models import SandboxChargeback, SandboxMandate, SandboxPayment, SandboxRefund

#: Associated data of the payer IBAN's and the mandate account's ciphertexts.
PAYER_IBAN_CONTEXT = "sandbox_payment.payer_iban"
CONSUMER_IBAN_CONTEXT = "sandbox_mandate.consumer_iban"
PAYMENT_ID = re.compile(r"tr_sbx[A-Za-z0-9]{10,30}")  # whole value: always fullmatch

#: Fake iDEAL issuers shown on the sandbox bank-choice page: (id, name, BIC).
ISSUERS: tuple[tuple[str, str, str], ...] = (
    ("ABNANL2A", "ABN AMRO", "ABNANL2A"),
    ("INGBNL2A", "ING", "INGBNL2A"),
    ("RABONL2U", "Rabobank", "RABONL2U"),
    ("SNSBNL2A", "SNS", "SNSBNL2A"),
    ("ASNBNL21", "ASN Bank", "ASNBNL21"),
    ("BUNQNL2A", "bunq", "BUNQNL2A"),
    ("TRIONL2U", "Triodos Bank", "TRIONL2U"),
    ("KNABNL2H", "Knab", "KNABNL2H"),
)

#: Test cards the tester picks by name (no card number is ever typed or stored):
#: (token kind, label, last four digits, expiry, how later recurring charges answer).
TEST_CARDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("visa", "Visa", "4242", "2030-12-31", "ok"),
    ("mastercard", "Mastercard", "4444", "2030-12-31", "ok"),
    ("declines_later", "Visa", "0341", "2030-12-31", "declined"),
    ("expires_soon", "Mastercard", "0069", "2026-12-31", "ok"),
)

#: What the sandbox offers, like a merchant's enabled methods at Mollie.
SANDBOX_METHODS: tuple[ProviderMethod, ...] = (
    ProviderMethod("ideal", "iDEAL", 1, 5_000_000),
    ProviderMethod("creditcard", "Card", 1, 5_000_000),
    ProviderMethod("bancontact", "Bancontact", 2, 5_000_000),
    ProviderMethod("paypal", "PayPal", 1, 5_000_000),
)
#: Which of them can start a recurring series (a first payment), and which can be charged later.
FIRST_METHODS = frozenset({"ideal", "creditcard", "bancontact"})
#: The sandbox's fees, like an acquirer's: (fixed euros, percentage) per method, refund and
#: chargeback. It settles each ISO week's payments on the Tuesday after the week.
SANDBOX_FEES: dict[str, tuple[Decimal, Decimal | None]] = {
    "ideal": (Decimal("0.29"), None), "creditcard": (Decimal("0.25"), Decimal("1.8")),
    "bancontact": (Decimal("0.39"), None), "paypal": (Decimal("0.10"), Decimal("3.4")),
    "directdebit": (Decimal("0.25"), None), "refund": (Decimal("0.25"), None),
    "chargeback": (Decimal("3.50"), None),
}
SETTLEMENT_ID = re.compile(r"stl_sbx([0-9]{4})w([0-9]{2})")  # whole value: always fullmatch
RECURRING_METHODS = frozenset({"creditcard", "directdebit"})


def _sandbox_id(prefix: str) -> str:
    return f"{prefix}_sbx" + secrets.token_hex(8)


class SandboxProvider:
    """Keeps payments in the portal's own database; its checkout pages live under ``/sandbox``.

    Made once per app: ``session`` gives the session of the unit of work at hand (the
    request's), so a sandbox payment commits or rolls back with what created it (on SQLite a
    second transaction would wait for the first one's write lock)."""

    name = "sandbox"

    def __init__(self, base_url: str, *, session: Callable[[], Session], clock: Clock) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self.clock = clock

    @property
    def session(self) -> Session:
        return self._session()

    # -- payments ------------------------------------------------------------------------------

    def create_payment(self, request: PaymentOrder) -> ProviderPayment:
        if request.idempotency_key:
            known = self.session.scalar(select(SandboxPayment).where(
                SandboxPayment.idempotency_key == request.idempotency_key))
            if known is not None:
                return self._view(known)
        if request.method is not None and request.method not in METHODS:
            raise ProviderError(f"the sandbox has no method {request.method!r}", status=422,
                                field="method")
        customer_id = request.provider_customer_id
        if request.sequence is Sequence.FIRST and customer_id is None:
            customer_id = _sandbox_id("cst")
        payment = SandboxPayment(
            payment_id="tr_sbx" + secrets.token_hex(8),
            amount_cents=request.amount_cents, currency=request.currency,
            description=request.description[:140], redirect_url=request.redirect_url,
            webhook_url=request.webhook_url, metadata_=dict(request.metadata),
            customer_name=request.customer_name, locale=request.locale,
            status=PaymentStatus.OPEN, created_at=self.clock(), method=request.method,
            sequence=request.sequence.value, customer_id=customer_id,
            idempotency_key=request.idempotency_key,
        )
        if request.sequence is Sequence.RECURRING:
            self._charge(payment, request.provider_customer_id or "",
                         request.provider_mandate_id or "")
        self.session.add(payment)  # commits with the caller's transaction
        return self._view(payment, refunded=0, charged_back=0)

    def _charge(self, payment: SandboxPayment, customer_id: str, mandate_id: str) -> None:
        """A recurring charge: a card answers now, a SEPA debit waits for the tester."""
        mandate = self.session.scalar(select(SandboxMandate).where(
            SandboxMandate.mandate_id == mandate_id, SandboxMandate.customer_id == customer_id))
        if mandate is None:
            raise ProviderError("no such mandate for this customer", status=422,
                                field="mandateId")
        payment.method = "creditcard" if mandate.method == "creditcard" else "directdebit"
        payment.mandate_id = mandate.mandate_id
        payment.payer_name = mandate.consumer_name
        payment.payer_bic = mandate.consumer_bic
        account = consumer_iban(self.session, mandate)
        payment.payer_iban_ciphertext = cipher_of(self.session).encrypt(
            account, PAYER_IBAN_CONTEXT) if account else None
        if mandate.status != "valid":
            payment.status, payment.failure_reason = PaymentStatus.FAILED, "mandate_invalid"
        elif mandate.method != "creditcard":
            payment.status = PaymentStatus.PENDING
        elif mandate.card_expiry and date.fromisoformat(mandate.card_expiry) < self.clock().date():
            payment.status, payment.failure_reason = PaymentStatus.FAILED, "card_expired"
        elif mandate.card_behaviour == "declined":
            payment.status, payment.failure_reason = PaymentStatus.FAILED, "card_declined"
        else:
            payment.status = PaymentStatus.PAID

    def get_payment(self, payment_id: str) -> ProviderPayment:
        return self._view(self.find(payment_id))

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        payment_id = form.get("id", "")
        if not PAYMENT_ID.fullmatch(payment_id):
            raise ProviderError("webhook without a valid sandbox payment id", status=400)
        return payment_id

    def find(self, payment_id: str) -> SandboxPayment:
        session = self.session
        payment = _held(session, payment_id) or find_sandbox_payment(session, payment_id)
        if payment is None:
            raise PaymentNotFound(f"no sandbox payment {payment_id!r}")
        return payment

    def checkout_url(self, payment_id: str) -> str:
        return f"{self.base_url}/sandbox/checkout/{payment_id}"

    def _view(self, payment: SandboxPayment, *, refunded: int | None = None,
              charged_back: int | None = None) -> ProviderPayment:
        """The payment as the provider reports it (``refunded`` and ``charged_back`` given for
        a payment just made, which has neither; otherwise both sums in one query)."""
        payable = payment.status == PaymentStatus.OPEN
        if refunded is None or charged_back is None:
            refunded, charged_back = self.session.execute(
                _TAKEN_BACK, {"payment_id": payment.payment_id}).one()
        return ProviderPayment(
            id=payment.payment_id, status=payment.status, amount_cents=payment.amount_cents,
            currency=payment.currency,
            checkout_url=self.checkout_url(payment.payment_id) if payable else None,
            payer_name=payment.payer_name, payer_iban=payer_iban(payment),
            payer_bic=payment.payer_bic, provider_mandate_id=payment.mandate_id,
            provider_customer_id=payment.customer_id, metadata=dict(payment.metadata_),
            method=payment.method, sequence=Sequence(payment.sequence or "first"),
            refunded_cents=int(refunded), charged_back_cents=int(charged_back),
            failure_reason=payment.failure_reason,
        )

    # -- mandates and card tokens --------------------------------------------------------------

    def get_mandate(self, customer_id: str, mandate_id: str) -> ProviderMandate:
        mandate = self.session.scalar(select(SandboxMandate).where(
            SandboxMandate.mandate_id == mandate_id, SandboxMandate.customer_id == customer_id))
        if mandate is None:
            raise ProviderError(f"no sandbox mandate {mandate_id!r}", status=404)
        return ProviderMandate(
            id=mandate.mandate_id, customer_id=mandate.customer_id,
            status=MandateState(mandate.status), method=mandate.method,
            consumer_name=mandate.consumer_name, consumer_iban=consumer_iban(self.session, mandate),
            consumer_bic=mandate.consumer_bic, card_holder=mandate.consumer_name
            if mandate.method == "creditcard" else None, card_last4=mandate.card_last4,
            card_label=mandate.card_label, card_expiry=mandate.card_expiry)

    # -- refunds and chargebacks ---------------------------------------------------------------

    def create_refund(self, payment_id: str, amount_cents: int, *, description: str,
                      idempotency_key: str | None = None) -> ProviderRefund:
        if idempotency_key:
            known = self.session.scalar(select(SandboxRefund).where(
                SandboxRefund.idempotency_key == idempotency_key))
            if known is not None:
                return _refund_view(known)
        payment = self.find(payment_id)
        if payment.status != PaymentStatus.PAID:
            raise ProviderError("only a paid payment can be refunded", status=422)
        taken = self.session.scalar(select(func.coalesce(func.sum(SandboxRefund.amount_cents),
                                                         0)).where(
            SandboxRefund.payment_id == payment_id, SandboxRefund.status != "failed")) or 0
        charged_back = self.session.scalar(select(func.coalesce(func.sum(
            SandboxChargeback.amount_cents), 0)).where(
                SandboxChargeback.payment_id == payment_id)) or 0
        if amount_cents <= 0 or amount_cents > payment.amount_cents - taken - charged_back:
            raise ProviderError("the amount is higher than what can still be refunded",
                                status=422, field="amount")
        refund = SandboxRefund(refund_id=_sandbox_id("re"), payment_id=payment_id,
                               amount_cents=amount_cents, status="pending",
                               description=description[:140], idempotency_key=idempotency_key,
                               created_at=self.clock())
        self.session.add(refund)
        self.session.flush()
        return _refund_view(refund)

    def list_refunds(self, payment_id: str) -> list[ProviderRefund]:
        return [_refund_view(r) for r in self.session.scalars(
            select(SandboxRefund).where(SandboxRefund.payment_id == payment_id)
            .order_by(SandboxRefund.id))]

    def list_chargebacks(self, payment_id: str) -> list[ProviderChargeback]:
        return [ProviderChargeback(c.chargeback_id, c.payment_id, c.amount_cents, c.reason_code,
                                   c.reason, False)
                for c in self.session.scalars(select(SandboxChargeback).where(
                    SandboxChargeback.payment_id == payment_id).order_by(SandboxChargeback.id))]

    def enabled_methods(self, sequence: Sequence = Sequence.ONEOFF,
                        amount_cents: int | None = None) -> list[ProviderMethod]:
        allowed = {Sequence.FIRST: FIRST_METHODS, Sequence.RECURRING: RECURRING_METHODS}.get(
            sequence)
        return [m for m in SANDBOX_METHODS if allowed is None or m.id in allowed]

    # -- settlements ---------------------------------------------------------------------------

    def list_settlements(self, limit: int = 50) -> list[Settlement]:
        settlements = SandboxSettlements(self.session)
        now = self.clock()
        return [settlements.settlement(year, week, now)
                for year, week in settlements.weeks(now)[:limit]]

    def list_settlement_items(self, settlement_id: str) -> list[SettlementItem]:
        match = SETTLEMENT_ID.fullmatch(settlement_id)
        if match is None:
            raise ProviderError(f"no sandbox settlement {settlement_id!r}", status=404)
        return SandboxSettlements(self.session).items(int(match[1]), int(match[2]))


def _week(moment: datetime) -> tuple[int, int]:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return year, week


def _week_bounds(year: int, week: int) -> tuple[datetime, datetime]:
    monday = date.fromisocalendar(year, week, 1)
    start = datetime.combine(monday, time(0), UTC)
    return start, start + timedelta(days=7)


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _fee(kind: str, cents: int) -> Decimal:
    fixed, percentage = SANDBOX_FEES.get(kind, (Decimal(0), None))
    fee = fixed + (_euros(cents) * percentage / 100 if percentage else Decimal(0))
    return fee.quantize(Decimal("0.0001"), ROUND_HALF_UP)


class SandboxSettlements:
    """The sandbox's weekly settlements, worked out from what it holds: every completed ISO
    week's paid payments, less its refunds, chargebacks and fees, paid out on the Tuesday."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def items(self, year: int, week: int) -> list[SettlementItem]:
        start, end = _week_bounds(year, week)
        found = [SettlementItem("payment", p.payment_id, p.payment_id, p.amount_cents,
                                p.method or "ideal")
                 for p in self.session.scalars(select(SandboxPayment).where(
                     SandboxPayment.status == PaymentStatus.PAID,
                     SandboxPayment.created_at >= start, SandboxPayment.created_at < end)
                     .order_by(SandboxPayment.id))]
        found += [SettlementItem("refund", r.refund_id, r.payment_id, r.amount_cents, "refund")
                  for r in self.session.scalars(select(SandboxRefund).where(
                      SandboxRefund.status == "refunded", SandboxRefund.created_at >= start,
                      SandboxRefund.created_at < end).order_by(SandboxRefund.id))]
        found += [SettlementItem("chargeback", c.chargeback_id, c.payment_id, c.amount_cents,
                                 "chargeback")
                  for c in self.session.scalars(select(SandboxChargeback).where(
                      SandboxChargeback.created_at >= start, SandboxChargeback.created_at < end)
                      .order_by(SandboxChargeback.id))]
        return found

    def weeks(self, now: datetime) -> list[tuple[int, int]]:
        """Completed weeks with anything in them, newest first."""
        moments = [*self.session.scalars(select(SandboxPayment.created_at).where(
                       SandboxPayment.status == PaymentStatus.PAID)),
                   *self.session.scalars(select(SandboxRefund.created_at).where(
                       SandboxRefund.status == "refunded")),
                   *self.session.scalars(select(SandboxChargeback.created_at))]
        current = _week(now)
        return sorted({_week(m) for m in moments if _week(m) < current}, reverse=True)

    def settlement(self, year: int, week: int, now: datetime) -> Settlement:
        items = self.items(year, week)
        revenue: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
        costs: dict[str, list[Decimal]] = defaultdict(list)
        for item in items:
            sign = 1 if item.kind == "payment" else -1
            label = item.method or "ideal"
            revenue[(item.kind, label)].append(sign * _euros(item.amount_cents))
            costs[label].append(_fee(label, item.amount_cents))
        names = {"refund": "Refunds", "chargeback": "Chargebacks"}
        lines = [SettlementLine(SettlementLineKind.REVENUE,
                                names.get(kind, f"{label} payments"), label,
                                len(amounts), sum(amounts, Decimal(0)))
                 for (kind, label), amounts in sorted(revenue.items())]
        lines += [SettlementLine(SettlementLineKind.COST, f"{label} fees", label, len(fees),
                                 sum(fees, Decimal(0)), SANDBOX_FEES.get(label, (None,))[0],
                                 SANDBOX_FEES.get(label, (None, None))[1])
                  for label, fees in sorted(costs.items())]
        total = sum((line.amount for line in lines if line.kind is SettlementLineKind.REVENUE),
                    Decimal(0)) - sum((line.amount for line in lines
                                       if line.kind is SettlementLineKind.COST), Decimal(0))
        settled_at = _week_bounds(year, week)[1] + timedelta(days=1, hours=10)
        return Settlement(
            id=f"stl_sbx{year:04d}w{week:02d}", reference=f"SBX.{year:04d}.{week:02d}",
            status="paidout" if now >= settled_at else "pending",
            settled_at=settled_at if now >= settled_at else None,
            amount_cents=int((total * 100).quantize(Decimal(1), ROUND_HALF_UP)),
            lines=tuple(lines))


#: What was refunded and charged back of one payment, in one statement.
_TAKEN_BACK = select(
    select(func.coalesce(func.sum(SandboxRefund.amount_cents), 0))
    .where(SandboxRefund.payment_id == bindparam("payment_id"),
           SandboxRefund.status == "refunded").scalar_subquery(),
    select(func.coalesce(func.sum(SandboxChargeback.amount_cents), 0))
    .where(SandboxChargeback.payment_id == bindparam("payment_id")).scalar_subquery())


def _held(session: Session, payment_id: str) -> SandboxPayment | None:
    """The payment when the session holds it already, loaded (the webhook the checkout sends in
    the same request): a query would return this same object, not refreshed, anyway."""
    for held in session.identity_map.values():
        if (isinstance(held, SandboxPayment)
                and inspect(held).dict.get("payment_id") == payment_id):
            return held
    return None


def find_sandbox_payment(session: Session, payment_id: str) -> SandboxPayment | None:
    """The sandbox payment with this id; anything not shaped like one is None without a query."""
    if not PAYMENT_ID.fullmatch(payment_id):
        return None
    return session.scalar(select(SandboxPayment).where(SandboxPayment.payment_id == payment_id))


def _refund_view(refund: SandboxRefund) -> ProviderRefund:
    state = {"refunded": RefundState.SUCCEEDED, "failed": RefundState.FAILED}.get(
        refund.status, RefundState.PENDING)
    return ProviderRefund(refund.refund_id, refund.payment_id, refund.amount_cents, state,
                          refund.status)


def complete_sandbox_payment(
    payment: SandboxPayment, outcome: PaymentStatus, *, issuer: str | None,
    payer_name: str | None, payer_iban: str | None, now: datetime, card: str | None = None,
    session: Session | None = None,
) -> None:
    """Settle an open (or pending) sandbox payment as the tester chose; a settled one does not
    change. A paid first payment leaves a mandate: SEPA for the paying account, or a token of
    the test card chosen."""
    if payment.status not in (PaymentStatus.OPEN, PaymentStatus.PENDING):
        raise ProviderError("this sandbox payment is no longer open", status=409)
    payment.status = outcome
    if payment.sequence == "recurring":
        if outcome == PaymentStatus.FAILED:
            payment.failure_reason = recurring_failure_reason(payment)
        return
    payment.issuer = issuer
    if outcome != PaymentStatus.PAID:
        return
    method = payment.method or "ideal"
    if method == "creditcard":
        kind = next((c for c in TEST_CARDS if c[0] == card), TEST_CARDS[0])
        payment.payer_name = payer_name
        if payment.sequence == "first" and payment.customer_id and session is not None:
            mandate = SandboxMandate(
                mandate_id=_sandbox_id("mdt"), customer_id=payment.customer_id,
                method="creditcard", status="valid", consumer_name=payer_name,
                card_label=kind[1], card_last4=kind[2], card_expiry=kind[3],
                card_behaviour=kind[4], created_at=now)
            session.add(mandate)
            payment.mandate_id = mandate.mandate_id
        return
    if method == "paypal":
        payment.payer_name = payer_name
        return
    bic = {i: b for i, _, b in ISSUERS}.get(issuer or "")
    payment.payer_name, payment.payer_bic = payer_name, bic
    payment.payer_iban_ciphertext = _cipher(payment).encrypt(
        payer_iban, PAYER_IBAN_CONTEXT) if payer_iban else None
    payment.mandate_id = _sandbox_id("mdt")
    if payment.sequence == "first" and payment.customer_id and session is not None:
        session.add(SandboxMandate(
            mandate_id=payment.mandate_id, customer_id=payment.customer_id,
            method="directdebit", status="valid", consumer_name=payer_name,
            consumer_iban_ciphertext=cipher_of(session).encrypt(
                payer_iban, CONSUMER_IBAN_CONTEXT) if payer_iban else None,
            consumer_bic=bic, created_at=now))



def recurring_failure_reason(payment: SandboxPayment) -> str:
    """The bank's reason code a failed recurring SEPA charge gives, as the sandbox bank's test
    accounts do (``NL44INGB0000000004``: AC04 account closed, …; see the README); AM04
    insufficient funds for every other account."""
    from portal.collections.sandbox_bank import outcome_for

    account = payer_iban(payment)
    return (outcome_for(account, 0) if account else None) or "AM04"


def payer_iban(payment: SandboxPayment) -> str | None:
    """The IBAN a settled sandbox payment was paid from, decrypted."""
    if payment.payer_iban_ciphertext is None:
        return None
    return _cipher(payment).decrypt(payment.payer_iban_ciphertext, PAYER_IBAN_CONTEXT)


def consumer_iban(session: Session, mandate: SandboxMandate) -> str | None:
    """The paying account of a sandbox mandate, decrypted."""
    if mandate.consumer_iban_ciphertext is None:
        return None
    return cipher_of(session).decrypt(mandate.consumer_iban_ciphertext, CONSUMER_IBAN_CONTEXT)


def _cipher(payment: SandboxPayment) -> FieldCipher:
    session = object_session(payment)
    if session is None:
        raise ValueError("a sandbox payment outside a session has no cipher")
    return cipher_of(session)


def settle_sandbox_refund(refund: SandboxRefund, outcome: str) -> None:
    """The tester decides a pending refund: ``refunded`` or ``failed``."""
    if refund.status != "pending":
        raise ProviderError("this sandbox refund is already settled", status=409)
    if outcome not in ("refunded", "failed"):
        raise ValueError(f"a refund ends refunded or failed, not {outcome!r}")
    refund.status = outcome


def add_sandbox_chargeback(session: Session, payment: SandboxPayment, amount_cents: int | None,
                           *, now: datetime, reason_code: str = "MD06",
                           reason: str = "Refund requested by the payer") -> SandboxChargeback:
    """The payer's bank takes (part of) a paid payment back, at the tester's request."""
    if payment.status != PaymentStatus.PAID:
        raise ProviderError("only a paid payment can be charged back", status=409)
    taken = session.scalar(select(func.coalesce(func.sum(SandboxChargeback.amount_cents), 0))
                           .where(SandboxChargeback.payment_id == payment.payment_id)) or 0
    amount = amount_cents if amount_cents is not None else payment.amount_cents - taken
    if amount <= 0 or amount > payment.amount_cents - taken:
        raise ProviderError("more than what is left of the payment", status=422)
    chargeback = SandboxChargeback(chargeback_id=_sandbox_id("chb"),
                                   payment_id=payment.payment_id, amount_cents=amount,
                                   reason_code=reason_code, reason=reason,
                                   created_at=now)
    session.add(chargeback)
    session.flush()
    return chargeback
