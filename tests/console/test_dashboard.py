"""A merchant's dashboard: mandates by status, this month's collections, failed debits and overdue
payment requests that need action, the webhook endpoint's health with a replay button; only the
merchant's own figures, and each view audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.collections.models import Debit, DebitStatus, Route, SeqType
from portal.console.dashboard import dashboard
from portal.console.models import StaffRole
from portal.events.service import emit_event
from portal.ids import new_public_id
from portal.mandates.models import Mandate, MandateStatus
from portal.merchants.models import Merchant
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.service import configure_endpoint
from tests.console.conftest import log_in, make_staff
from tests.factories import make_invitation, make_merchant

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=utcnow().tzinfo)


def _debit(session: Session, mandate: Mandate, status: DebitStatus, cents: int, on: date,
           *, will_retry: bool = False) -> Debit:
    debit = Debit(public_id=new_public_id("dbt"), merchant_id=mandate.merchant_id,
                  mandate_id=mandate.id, customer_id=mandate.customer_id, route=Route.BANK,
                  scheme="CORE", status=status, amount_cents=cents, original_amount_cents=cents,
                  description="Invoice", collection_date=on, sequence_type=SeqType.RECURRING,
                  attempt=1, will_retry=will_retry, created_at=NOW, updated_at=NOW, version=1)
    session.add(debit)
    return debit


def _seed(session: Session) -> tuple[Merchant, Merchant, Mandate]:
    merchant = make_merchant(session)
    other = make_merchant(session, legal_name="Other B.V.", creditor_id="DE98ZZZ09999999999")
    configure_endpoint(session, merchant, "https://hooks.example/portal")
    active = make_invitation(session, merchant).mandate
    active.status = MandateStatus.ACTIVE
    make_invitation(session, merchant)  # one still invited
    foreign = make_invitation(session, other).mandate
    foreign.status = MandateStatus.ACTIVE
    session.flush()
    _debit(session, active, DebitStatus.COLLECTED, 1250, date(2026, 12, 2))
    _debit(session, active, DebitStatus.COLLECTED, 750, date(2026, 12, 9))
    _debit(session, active, DebitStatus.COLLECTED, 9999, date(2026, 11, 28))  # last month
    _debit(session, active, DebitStatus.RETURNED, 500, date(2026, 12, 5))  # needs action
    _debit(session, active, DebitStatus.RETURNED, 400, date(2026, 12, 6), will_retry=True)
    _debit(session, foreign, DebitStatus.COLLECTED, 100000, date(2026, 12, 3))
    event = emit_event(session, merchant_id=merchant.id, type="mandate.active",
                       subject=active.public_id, data={})
    session.flush()
    session.add(WebhookDelivery(public_id=new_public_id("whk"), event_id=event.id,
                                merchant_id=merchant.id, url=merchant.webhook_url,
                                status=DeliveryStatus.FAILED, attempt_count=8, last_status=500,
                                created_at=NOW - timedelta(days=1)))
    session.commit()
    return merchant, other, active


def test_the_figures_are_the_merchants_own(session: Session) -> None:
    merchant, _other, _active = _seed(session)
    board = dashboard(session, merchant, now=NOW)
    assert board.mandates_by_status == {"active": 1, "invited": 1}
    assert (board.collected_count, board.collected_cents) == (2, 2000)
    assert board.failed_this_month == 2
    assert [d.amount_cents for d in board.failed_debits] == [500]  # the retried one waits
    assert board.webhooks.by_status == {"failed": 1}
    assert [event.type for _delivery, event in board.webhooks.failed] == ["mandate.active"]


def test_the_page_for_support_offers_replay_but_no_settings(app: Flask, session: Session) -> None:
    merchant, other, _active = _seed(session)
    app.config["CLOCK"] = lambda: NOW
    staff = make_staff(session, "support@a.example", role=StaffRole.SUPPORT, merchants=[merchant])
    client = app.test_client()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    page = client.get(f"/console/merchants/{merchant.public_id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 debits, € 20.00" in html and "Replay" in html and "Settings" not in html
    assert "1,000.00" not in html  # the other merchant's collection
    assert 'id="weekly-chart"' in html and '<rect class="collected"' in html  # #15's chart
    assert client.get(f"/console/merchants/{other.public_id}/").status_code == 404
    session.expire_all()
    [view] = session.scalars(select(AuditEvent).where(
        AuditEvent.action == "console.view_dashboard")).all()
    assert view.actor == f"staff:{staff.user.public_id}" and view.subject == merchant.public_id
