"""The link-state read of a repeat visit (one statement: on a pooled DBAPI connection on SQLite,
prepared on the thread's own connection on PostgreSQL), on both databases: the same values and
types as the ORM reads, and no stale answer."""

from __future__ import annotations

from datetime import UTC

from flask import Flask
from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.db import state
from portal.mandates.models import MandateStatus
from portal.mandates.service import withdraw_invitation
from portal.sign.service import _LINK_STATE, OpenLink, open_link
from tests.sign.driver import Journey


def test_the_row_carries_the_column_types(app: Flask, journey: Journey) -> None:
    journey.open()
    row = _LINK_STATE.first(state(app).reads, public_id=journey.invitation.public_id)
    assert row.opened_at is not None and row.opened_at.tzinfo is UTC
    assert row.expires_at.tzinfo is UTC and row.used_at is None and row.withdrawn_at is None
    assert row.status is MandateStatus.INVITED
    assert row.refund_verification is False and row.locale == "en" and row.version >= 1


def test_no_row_for_an_unknown_invitation(app: Flask) -> None:
    assert _LINK_STATE.first(state(app).reads, public_id="inv_unknown") is None


def test_only_an_opened_signable_link_has_a_state(app: Flask, journey: Journey,
                                                  session: Session) -> None:
    reads, public_id = state(app).reads, journey.invitation.public_id
    assert open_link(reads, public_id, clock_now()) is None  # never opened yet
    journey.open()
    opened = open_link(reads, public_id, clock_now())
    assert opened == OpenLink(journey.invitation.mandate.version, "en", False)
    withdraw_invitation(session, journey.invitation, actor="merchant", now=clock_now())
    session.commit()
    assert open_link(reads, public_id, clock_now()) is None  # seen at once, nothing cached
    assert journey.open().status_code == 410


def test_many_reads_return_their_connections(app: Flask, journey: Journey) -> None:
    journey.open()
    engine = state(app).reads
    for _ in range(3 * (engine.pool.size() + 10)):
        assert _LINK_STATE.first(engine, public_id=journey.invitation.public_id) is not None
    assert engine.pool.checkedout() == 0
