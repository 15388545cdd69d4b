"""The mandate page for people: status in words (and abandoned attempts named as such), the
evidence as a table with the raw record a click away, one timeline, the PDF inline, the pain.012
of a bank-signed mandate, the IBAN revealed only for an audited reason, replay per delivery."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.collections.models import Debit, DebitAttempt, DebitStatus, Route, SeqType
from portal.console.models import StaffRole
from portal.emandates.reports import evidence_report
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Mandate, MandateStatus
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.service import configure_endpoint
from tests.console.conftest import Staff, log_in, make_staff
from tests.emandates.conftest import accepted_at_bank
from tests.factories import make_invitation, make_merchant
from tests.sign.driver import Journey, csrf_token

IBAN = "NL91ABNA0417164300"


def _page(console: FlaskClient, mandate: Mandate, **kwargs) -> str:
    response = console.get(f"/console/mandates/{mandate.public_id}", **kwargs)
    assert response.status_code == 200, response.data[:300]
    return response.get_data(as_text=True)


def _status(page: str) -> str:
    match = re.search(r'<dd id="mandate-status"[^>]*>([^<]*)</dd>', page)
    assert match, "no status on the page"
    return match.group(1).strip()


@pytest.fixture
def hooked(journey: Journey, session: Session) -> Journey:
    """The journey's merchant has a webhook endpoint, so its events get deliveries."""
    configure_endpoint(session, journey.invitation.merchant, "https://hooks.example/portal")
    session.commit()
    return journey


@pytest.fixture
def signed(hooked: Journey) -> Mandate:
    hooked.follow(hooked.pay("paid"))
    mandate = hooked.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    return mandate


def test_statuses_are_words_not_codes(console: FlaskClient, journey: Journey) -> None:
    assert _status(_page(console, journey.mandate())) == "Invited, not signed yet"
    journey.submit()
    page = _page(console, journey.mandate())
    assert _status(page) == "Signed, account check pending"
    # The code appears only in attributes and in the raw records behind a click.
    shown = re.sub(r"<details.*?</details>", "", page, flags=re.DOTALL)
    assert "awaiting_verification" not in re.sub(r'data-status="\w+"', "", shown)


def test_statuses_are_translated(console: FlaskClient, journey: Journey) -> None:
    assert _status(_page(console, journey.mandate(), query_string={"lang": "nl"})) == (
        "Uitgenodigd, nog niet getekend")
    assert _status(_page(console, journey.mandate(), query_string={"lang": "de"})) == (
        "Eingeladen, noch nicht unterschrieben")


@pytest.mark.parametrize(("outcome", "label"), [
    ("failed", "Not signed: the verification payment failed"),
    ("canceled", "Not signed: the customer cancelled the verification payment"),
    ("expired", "Not signed: the verification payment expired unpaid"),
])
def test_an_abandoned_payment_is_shown_as_what_it_is(console: FlaskClient, journey: Journey,
                                                     outcome: str, label: str) -> None:
    journey.follow(journey.pay(outcome))
    mandate = journey.mandate()
    assert mandate.status == MandateStatus.AWAITING_VERIFICATION  # the link may still be used
    page = _page(console, mandate)
    assert _status(page) == label
    assert 'id="abandoned"' in page


def test_an_expired_or_withdrawn_invitation_is_shown_as_such(console: FlaskClient,
                                                             journey: Journey,
                                                             session: Session) -> None:
    journey.invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    page = _page(console, journey.mandate())
    assert _status(page) == "Not signed: the invitation expired"
    assert "Invitation expired unsigned" in page  # and when, in the timeline
    journey.invitation.withdrawn_at = utcnow()
    session.commit()
    assert _status(_page(console, journey.mandate())) == "Not signed: the invitation was withdrawn"


def test_evidence_is_a_table_with_the_raw_record_a_click_away(console: FlaskClient,
                                                               signed: Mandate) -> None:
    page = _page(console, signed)
    table = page[page.index('id="evidence-table"'):page.index('id="evidence-raw"')]
    assert "<th scope=\"row\">Consent given at</th><td>" + signed.evidence["consent_at"] in table
    assert "<th scope=\"row\">IP address</th><td>127.0.0.1</td>" in table
    assert "Account reported by the bank" in table and "{" not in table
    raw = page[page.index('<details id="evidence-raw">'):]
    pretty = f'"consent_at": {json.dumps(signed.evidence["consent_at"])},\n'
    assert str(escape(pretty)) in raw[:raw.index("</details>")]


def test_the_timeline_merges_every_source_in_time_order(app: Flask, console: FlaskClient,
                                                        signed: Mandate,
                                                        session: Session) -> None:
    now = utcnow()
    debit = Debit(public_id="dbt_0123456789abcdefghij", merchant_id=signed.merchant_id,
                  mandate_id=signed.id, customer_id=signed.customer_id, route=Route.BANK,
                  scheme="CORE", status=DebitStatus.RETURNED, amount_cents=1999,
                  original_amount_cents=1999, description="March box",
                  collection_date=now.date(), sequence_type=SeqType.FIRST, created_at=now,
                  updated_at=now)
    session.add(debit)
    session.flush()
    session.add(DebitAttempt(debit_id=debit.id, merchant_id=signed.merchant_id,
                             mandate_id=signed.id, number=1, end_to_end_id="E2E-1",
                             sequence_type=SeqType.FIRST, collection_date=now.date(),
                             amount_cents=1999, mandate_reference=signed.reference,
                             creditor_id="NL69ZZZ123456780000", outcome=DebitStatus.RETURNED,
                             reason_code="AM04", reason_text="Insufficient funds",
                             settled_at=now + timedelta(seconds=1), created_at=now))
    session.commit()
    page = _page(console, signed)
    timeline = page[page.index('id="timeline"'):page.index('id="events"')]
    sources = set(re.findall(r'data-source="(\w+)"', timeline))
    assert sources == {"audit", "invitation", "payment", "debit", "webhook"}
    for title in ("Invitation created", "Verification payment started",
                  "Verification payment paid", "Customer signed", "Mandate active",
                  "Debit scheduled for", "Attempt 1 returned", "AM04 Insufficient funds",
                  "Webhook mandate.active", "Staff opened this page"):
        assert title in timeline, title
    moments = re.findall(r'<td class="nowrap">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC</td>', timeline)
    assert moments == sorted(moments) and len(moments) >= 10


def test_replay_from_a_delivery_of_the_timeline(console: FlaskClient, signed: Mandate,
                                                session: Session) -> None:
    page = _page(console, signed)
    deliveries = re.findall(r'id="replay-(whk_\w+)"', page)
    assert deliveries
    before = session.scalar(select(func.count()).select_from(WebhookDelivery))
    form = page[:page.index(f'id="replay-{deliveries[0]}"')]
    action = re.findall(r'<form method="post" action="([^"]+/replay)"', form)[-1]
    response = console.post(action, data={"csrf_token": csrf_token(console.get("/console/")),
                                          "back": f"/console/mandates/{signed.public_id}"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/console/mandates/{signed.public_id}"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == before + 1


def test_the_pdf_is_shown_inline_with_its_seal_check(app: Flask, console: FlaskClient,
                                                     signed: Mandate, session: Session) -> None:
    run_due_jobs(app)
    page = _page(console, signed)
    inline = f"/console/mandates/{signed.public_id}/pdf/inline"
    assert f'<iframe class="console-pdf" id="pdf-frame" src="{inline}"' in page
    assert 'id="seal-report">Seal verified' in page
    response = console.get(inline)
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith("inline")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    # The page itself still refuses every frame, and may frame its own origin.
    page_policy = console.get(f"/console/mandates/{signed.public_id}").headers[
        "Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page_policy and "default-src 'self'" in page_policy
    session.expire_all()
    assert session.scalar(select(AuditEvent).where(
        AuditEvent.action == "console.view_pdf", AuditEvent.subject == signed.public_id))


def test_the_iban_is_revealed_only_with_a_reason_which_is_audited(
        console: FlaskClient, signed: Mandate, session: Session, staff: Staff) -> None:
    path = f"/console/mandates/{signed.public_id}/iban"
    page = _page(console, signed)
    assert IBAN not in page and "0417 1643" not in page
    token = csrf_token(console.get(f"/console/mandates/{signed.public_id}"))
    assert console.post(path, data={"reason": "customer called about a debit"}).status_code == 400
    for reason in ("", "   ", "because"):
        refused = console.post(path, data={"csrf_token": token, "reason": reason})
        assert refused.status_code == 422, reason
        text = refused.get_data(as_text=True)
        assert "0417 1643" not in text and 'id="reveal-error"' in text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "console.reveal_iban")) == 0
    shown = console.post(path, data={"csrf_token": token,
                                     "reason": "Customer disputes the March debit"})
    assert shown.status_code == 200
    assert '<span class="console-mono">NL91 ABNA 0417 1643 00</span>' in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    session.expire_all()
    [event] = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "console.reveal_iban")).all()
    assert event.actor == f"staff:{staff.user.public_id}"
    assert event.data["reason"] == "Customer disputes the March debit"
    assert event.merchant_id == signed.merchant_id
    assert IBAN not in json.dumps(event.data) and "0417164300" not in json.dumps(event.data)
    # The next look shows the masked form again.
    assert "0417 1643" not in _page(console, signed)


def test_another_merchants_staff_cannot_reveal(app: Flask, signed: Mandate,
                                               session: Session) -> None:
    other = make_staff(session, "support@b.example", role=StaffRole.SUPPORT,
                       merchants=[make_merchant(session, legal_name="B B.V.")])
    client = app.test_client()
    log_in(client, other.email, other.password, staff=other)
    token = csrf_token(client.get("/console/password"))
    response = client.post(f"/console/mandates/{signed.public_id}/iban",
                           data={"csrf_token": token, "reason": "just curious, honestly"})
    assert response.status_code == 404
    assert "0417 1643" not in response.get_data(as_text=True)


def test_a_bank_signed_mandate_offers_its_pain012(app: Flask, console: FlaskClient,
                                                  session: Session) -> None:
    mandate, _ = accepted_at_bank(app, session)
    session.commit()
    session.expire_all()
    mandate = session.get(Mandate, mandate.id)
    assert mandate.status == MandateStatus.ACTIVE
    page = _page(console, mandate)
    link = f"/console/mandates/{mandate.public_id}/pain012"
    assert f'href="{link}"' in page and mandate.evidence["pain012_sha256"] in page
    assert 'data-source="bank"' in page
    response = console.get(link)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.data == evidence_report(session, mandate.evidence)
    assert "attachment" in response.headers["Content-Disposition"]
    # A mandate not signed at a bank has none.
    plain = make_invitation(session, mandate.merchant).mandate
    session.commit()
    assert console.get(f"/console/mandates/{plain.public_id}/pain012").status_code == 404


def test_search_results_name_abandoned_attempts_too(console: FlaskClient, journey: Journey,
                                                    session: Session) -> None:
    journey.follow(journey.pay("failed"))
    waiting = make_invitation(session, journey.invitation.merchant)  # still waiting, as it is
    session.commit()
    page = console.get("/console/", query_string={"q": "sam de vries"}).get_data(as_text=True)
    rows = dict(re.findall(r'href="/console/mandates/(md_\w+)">.*?data-status="\w+">([^<]+)</td>',
                           page, flags=re.DOTALL))
    assert rows[journey.invitation.mandate.public_id] == (
        "Not signed: the verification payment failed")
    assert rows[waiting.mandate.public_id] == "Invited, not signed yet"
