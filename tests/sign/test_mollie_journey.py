"""The same journey with the Mollie adapter, against the local Mollie stub."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.mandates.models import MandateStatus
from portal.mandates.service import debtor_iban
from tests.providers.mollie_stub import MollieStub, mollie_stub  # noqa: F401  (fixture)
from tests.reconfigure import reconfigure
from tests.sign.driver import Journey, local


@pytest.fixture
def mollie_app(app: Flask, mollie_stub: MollieStub) -> Flask:  # noqa: F811
    return reconfigure(app, PAYMENT_PROVIDER="mollie", MOLLIE_API_KEY=mollie_stub.api_key,
                       MOLLIE_BASE_URL=mollie_stub.base_url)


def test_mollie_first_payment_then_webhook_activates(
        mollie_app: Flask, journey: Journey, mollie_stub: MollieStub) -> None:  # noqa: F811
    started = journey.submit()
    assert started.status_code == 303
    assert started.headers["Location"].startswith(mollie_stub.base_url)
    payment = journey.payments()[-1]
    created = mollie_stub.payment(payment.provider_payment_id)
    assert created["sequenceType"] == "first" and created["amount"]["value"] == "0.01"
    assert created["webhookUrl"] == "http://localhost/providers/mollie/webhook"
    assert created["metadata"]["mandate"] == journey.mandate().public_id

    mollie_stub.pay(payment.provider_payment_id, consumer_name="S. de Vries",
                    consumer_account="NL91ABNA0417164300", consumer_bic="ABNANL2A")
    hook = journey.client.post("/providers/mollie/webhook",
                               data={"id": payment.provider_payment_id})
    assert hook.status_code == 200

    mandate = journey.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    assert debtor_iban(journey.session, mandate) == "NL91ABNA0417164300"
    assert journey.payments()[-1].provider_mandate_id.startswith("mdt_")
    done = journey.client.get(local(created["redirectUrl"]), follow_redirects=True)
    assert b"Active" in done.data


def test_mollie_cancelled_payment_lets_the_customer_retry(
        mollie_app: Flask, journey: Journey, mollie_stub: MollieStub) -> None:  # noqa: F811
    journey.submit()
    payment = journey.payments()[-1]
    mollie_stub.set_outcome(payment.provider_payment_id, "canceled")
    back = journey.client.get(f"{journey.path}/return", follow_redirects=True)
    assert b'id="retry-notice"' in back.data
    assert journey.mandate().status == MandateStatus.AWAITING_VERIFICATION


def test_provider_outage_keeps_nothing_half_written(
        mollie_app: Flask, journey: Journey, mollie_stub: MollieStub) -> None:  # noqa: F811
    mollie_stub.fail_next(5, status=503)
    response = journey.submit()
    assert response.status_code == 503
    assert b"payment service is unavailable" in response.data
    mandate = journey.mandate()
    assert mandate.status == MandateStatus.INVITED and mandate.iban_ciphertext is None
    assert journey.payments() == []


def test_webhook_while_provider_is_down_asks_for_a_retry(
        mollie_app: Flask, journey: Journey, mollie_stub: MollieStub) -> None:  # noqa: F811
    journey.submit()
    payment = journey.payments()[-1]
    mollie_stub.pay(payment.provider_payment_id)
    mollie_stub.fail_next(5, status=503)
    hook = journey.client.post("/providers/mollie/webhook",
                               data={"id": payment.provider_payment_id})
    assert hook.status_code == 503
    assert journey.mandate().status == MandateStatus.AWAITING_VERIFICATION
