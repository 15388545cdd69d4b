"""The sandbox iDEAL page: a way back (cancel, as at a real bank) and messages in the customer's
language."""

from __future__ import annotations

from portal.mandates.models import MandateStatus
from portal.providers import PaymentStatus
from tests.sign.driver import Journey, csrf_token, local


def _checkout(journey: Journey) -> str:
    started = journey.submit()
    assert started.status_code == 303
    return local(started.headers["Location"])


def test_cancel_and_return_goes_back_to_the_mandate_without_paying(journey: Journey) -> None:
    checkout = _checkout(journey)
    page = journey.client.get(checkout)
    assert b'id="sandbox-cancel"' in page.data
    back = journey.client.post(checkout, data={"csrf_token": csrf_token(page), "cancel": "1",
                                               "issuer": "INGBNL2A", "outcome": "paid"})
    assert back.status_code == 303
    form = journey.follow(back)
    assert form.status_code == 200 and b'id="retry-notice"' in form.data
    assert [p.status for p in journey.payments()] == [PaymentStatus.CANCELED]
    assert journey.mandate().status == MandateStatus.AWAITING_VERIFICATION


def test_a_wrong_iban_on_the_sandbox_page_is_told_in_the_customers_language(
        journey: Journey) -> None:
    checkout = _checkout(journey)
    page = journey.client.get(checkout + "?lang=nl")
    refused = journey.client.post(checkout, data={
        "csrf_token": csrf_token(page), "issuer": "INGBNL2A", "outcome": "paid",
        "payer_iban": "NL92ABNA0417164300"})
    assert refused.status_code == 422
    assert "controlecijfers" in refused.get_data(as_text=True)
