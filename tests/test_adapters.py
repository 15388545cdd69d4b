"""Adapters are built once per app and handed to services, which then run without an app context:
a test gives them a fake adapter, no patching."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.clock import utcnow
from portal.events.models import Event
from portal.jobs.models import Job
from portal.mandates.delivery import DeliverySettings
from portal.mandates.links import Links
from portal.mandates.models import (
    DeliveryState,
    InvitationChannel,
    MandateStatus,
    SigningMethod,
)
from portal.providers import PaymentRequest, PaymentStatus, ProviderPayment
from portal.providers.mollie import MollieProvider
from portal.sms.service import queue_invitation_sms, send_invitation_sms
from portal.verification.service import Outcome, apply_provider_status
from tests.factories import make_invitation
from tests.providers.mollie_stub import MollieStub, mollie_stub  # noqa: F401  (fixture)
from tests.reconfigure import reconfigure
from tests.sign.driver import Journey

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LINKS = Links("https://portal.example", "link-secret")
SETTINGS = DeliverySettings(retry_schedule=(60.0,), reminder_days=(3, 7))


@dataclass
class RecordingGateway:
    """An SMS gateway that keeps what it is given, and whether an app context was around."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    in_app_context: list[bool] = field(default_factory=list)

    def send(self, to: str, text: str, *, sender: str | None = None) -> str:
        self.in_app_context.append(has_app_context())
        self.sent.append((to, text))
        return f"msg-{len(self.sent)}"


def test_sms_delivery_runs_without_an_app_context_on_a_fake_gateway(session: Session) -> None:
    invitation = make_invitation(session, customer_phone="+31612345678", locale="nl",
                                 channel=InvitationChannel.SMS)
    queue_invitation_sms(session, invitation)
    session.commit()
    gateway = RecordingGateway()
    now = utcnow()

    assert not has_app_context()
    send_invitation_sms(session, invitation.public_id, gateway=gateway, links=LINKS,
                        settings=SETTINGS, now=now)
    session.commit()

    [(to, text)] = gateway.sent
    assert to == "+31612345678" and "https://portal.example/s/" in text
    assert gateway.in_app_context == [False]
    assert invitation.delivery_status == DeliveryState.SENT and invitation.sent_at == now
    assert session.scalar(select(Event.type).where(Event.subject == invitation.public_id,
                                                   Event.type == "invitation.sent"))
    reminders = session.scalars(select(Job.run_at).where(Job.kind == "sms.reminder")).all()
    assert sorted(reminders) == [now + timedelta(days=3), now + timedelta(days=7)]


class PaidProvider:
    """A provider whose every payment has been paid from the account the customer typed."""

    name = "fake"

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        raise AssertionError("not used")

    def get_payment(self, payment_id: str) -> ProviderPayment:
        assert not has_app_context()
        return ProviderPayment(
            id=payment_id, status=PaymentStatus.PAID, amount_cents=1, currency="EUR",
            checkout_url=None, payer_name="S. de Vries", payer_iban="NL91ABNA0417164300",
            payer_bic="ABNANL2A", provider_mandate_id=None, provider_customer_id=None,
            metadata={})

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        raise AssertionError("not used")


def test_verification_applies_a_fake_providers_answer_without_an_app_context(
        journey: Journey) -> None:
    journey.app.config["SANDBOX_AUTO_WEBHOOK"] = False
    journey.pay("paid")  # the sandbox's answer is not fetched: the fake provider gives it
    payment = journey.payments()[-1]

    assert not has_app_context()
    outcome = apply_provider_status(journey.session, payment, PaidProvider(), source="webhook",
                                    clock=lambda: NOW)
    assert outcome == Outcome.ACTIVATED
    mandate = journey.mandate()
    assert mandate.status == MandateStatus.ACTIVE and mandate.signed_at == NOW


@pytest.fixture
def counted_mollie(monkeypatch: pytest.MonkeyPatch) -> list[MollieProvider]:
    made: list[MollieProvider] = []
    real_init = MollieProvider.__init__

    def init(self: MollieProvider, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(MollieProvider, "__init__", init)
    return made


def test_the_payment_provider_is_built_once_per_app_not_per_request(
        app: Flask, journey: Journey, mollie_stub: MollieStub,  # noqa: F811
        counted_mollie: list[MollieProvider]) -> None:
    reconfigure(app, PAYMENT_PROVIDER="mollie", MOLLIE_API_KEY=mollie_stub.api_key,
                MOLLIE_BASE_URL=mollie_stub.base_url)
    assert len(counted_mollie) == 1
    assert journey.submit().status_code == 303
    payment = journey.payments()[-1]
    mollie_stub.pay(payment.provider_payment_id, consumer_name="S. de Vries",
                    consumer_account="NL91ABNA0417164300", consumer_bic="ABNANL2A")
    assert journey.client.post("/providers/mollie/webhook",
                               data={"id": payment.provider_payment_id}).status_code == 200
    journey.client.get(f"{journey.path}/return")
    assert len(counted_mollie) == 1
    assert get_adapters(app).payment_provider is counted_mollie[0]


def test_rebuilding_closes_the_previous_http_clients(
        app: Flask, mollie_stub: MollieStub) -> None:  # noqa: F811
    reconfigure(app, PAYMENT_PROVIDER="mollie", MOLLIE_API_KEY=mollie_stub.api_key,
                MOLLIE_BASE_URL=mollie_stub.base_url, SMS_TRANSPORT="http")
    first = get_adapters(app)
    reconfigure(app, PAYMENT_PROVIDER="sandbox")
    assert first.payment_provider._client.is_closed  # type: ignore[attr-defined]
    assert first.sms.client.is_closed  # type: ignore[union-attr]


def test_the_bank_is_built_once_per_app_and_handed_to_the_signing_flow(app: Flask) -> None:
    from portal.banks.client import IdxBank
    from portal.sign.views import _flows

    bank = get_adapters(app).bank
    assert isinstance(bank, IdxBank) and bank is get_adapters(app).bank
    with app.test_request_context():
        flows = _flows(get_adapters(app))
    assert flows[SigningMethod.BANK_EMANDATE].bank is bank  # type: ignore[attr-defined]
    assert flows[SigningMethod.PAYMENT_VERIFICATION].provider is (  # type: ignore[attr-defined]
        get_adapters(app).payment_provider)
    client = bank.client  # made on first use, closed when the adapters are rebuilt
    assert client is bank.client and not client.is_closed
    reconfigure(app, BANK="none")
    assert client.is_closed and get_adapters(app).bank is None
    with app.test_request_context():
        assert SigningMethod.BANK_EMANDATE not in _flows(get_adapters(app))
