"""The event feed never moves past an event that a slower transaction commits later."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from portal.db import state
from portal.events.feed import UnknownAnchor, feed_page
from portal.events.models import Event
from portal.events.service import emit_event
from tests.factories import make_merchant


class Poller:
    """A merchant's integration polling the feed with a cursor, as the API does."""

    def __init__(self, app: Flask, merchant_id: int) -> None:
        self.app, self.merchant_id = app, merchant_id
        self.cursor: str | None = None
        self.seen: list[str] = []

    def poll(self) -> list[str]:
        with state(self.app).factory() as session:
            page = feed_page(session, self.merchant_id, after=self.cursor, limit=100)
        got = [event.public_id for event in page.events]
        self.seen += got
        self.cursor = got[-1] if got else self.cursor
        return got


def _emit(app: Flask, session: Session, merchant_id: int, subject: str) -> Event:
    with app.app_context():
        event = emit_event(session, merchant_id=merchant_id, type="mandate.created",
                           subject=subject, data={"mandate": subject})
    session.flush()  # the id is handed out now, long before the commit
    return event


def test_a_poller_between_two_commits_sees_both_events_once_and_in_order(
        app: Flask, session: Session, backend: str) -> None:
    merchant_id = make_merchant(session).id
    session.commit()
    poller = Poller(app, merchant_id)
    factory = state(app).factory
    with factory() as slow, factory() as fast:
        first = _emit(app, slow, merchant_id, "md_slow")  # the earlier transaction
        if backend == "sqlite":
            # A second writer cannot even insert until the first commits, so ids follow commit
            # order and the race cannot happen; shown with a writer that does not wait.
            impatient = create_engine(app.config["DATABASE_URL"], connect_args={"timeout": 0})
            with Session(impatient) as other, pytest.raises(OperationalError, match="locked"):
                _emit(app, other, merchant_id, "md_fast")
            impatient.dispose()
            assert poller.poll() == []
            slow.commit()
            second = _emit(app, fast, merchant_id, "md_fast")
            fast.commit()
        else:
            second = _emit(app, fast, merchant_id, "md_fast")
            assert second.id > first.id
            fast.commit()  # the later transaction commits first
            assert poller.poll() == []  # held back while the earlier one may still commit
            slow.commit()
        assert poller.poll() == [first.public_id, second.public_id]
        assert poller.poll() == []
    assert poller.seen == [first.public_id, second.public_id]


def test_a_rolled_back_transaction_releases_the_events_behind_it(
        app: Flask, session: Session) -> None:
    merchant_id = make_merchant(session).id
    session.commit()
    poller = Poller(app, merchant_id)
    factory = state(app).factory
    with factory() as doomed:
        _emit(app, doomed, merchant_id, "md_doomed")
        doomed.rollback()
    with factory() as writer:
        kept = _emit(app, writer, merchant_id, "md_kept")
        writer.commit()
    assert poller.poll() == [kept.public_id]


def test_the_feed_pages_in_order_and_refuses_an_unknown_anchor(
        app: Flask, session: Session) -> None:
    merchant_id = make_merchant(session).id
    other_id = make_merchant(session).id
    events = [_emit(app, session, merchant_id, f"md_{n}").public_id for n in range(5)]
    foreign = _emit(app, session, other_id, "md_other").public_id
    session.commit()
    with state(app).factory() as reader:
        page = feed_page(reader, merchant_id, after=None, limit=3)
        assert [e.public_id for e in page.events] == events[:3] and page.has_more
        rest = feed_page(reader, merchant_id, after=events[2], limit=3)
        assert [e.public_id for e in rest.events] == events[3:] and not rest.has_more
        with pytest.raises(UnknownAnchor):
            feed_page(reader, merchant_id, after=foreign, limit=3)
