"""The merchant's event feed: an order that only ever moves past committed events.

On PostgreSQL an id is handed out when a row is inserted, not when it commits, so a reader that
continues "after id N" can pass over an event that a slower transaction commits a moment later.
Each event therefore records the id of the transaction that wrote it (``txid``), the feed is
ordered by (txid, id), and a read only returns events of transactions older than the oldest one
still open (``pg_snapshot_xmin`` of the reading statement's own snapshot). Every transaction
below that horizon has ended, and every later one gets a larger id, so nothing can ever appear
behind a position the reader has already passed. An open transaction holds later events back
(they show once it ends); it never makes the feed skip them.

On SQLite writers commit one at a time (the write lock is held from the first write to the
commit), so ids already follow commit order; ``txid`` is 0 there and the order is by id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, literal_column, or_, select
from sqlalchemy.orm import Session

from portal.events.models import Event

#: The oldest transaction the reading statement still sees as open (PostgreSQL 13+).
_PG_HORIZON = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


class UnknownAnchor(LookupError):
    """The event to continue after is not one of this merchant's."""


@dataclass(frozen=True)
class FeedPage:
    events: list[Event]
    has_more: bool


def committed_only(session: Session) -> ColumnElement[bool] | None:
    """The condition that keeps a read to events no open transaction can still precede."""
    if session.get_bind().dialect.name == "postgresql":
        return Event.txid < _PG_HORIZON
    return None


def feed_page(session: Session, merchant_id: int, *, after: str | None, limit: int,
              type: str | None = None) -> FeedPage:
    """Up to ``limit`` of the merchant's events in feed order, after the event ``after``."""
    query = select(Event).where(Event.merchant_id == merchant_id)
    if after is not None:
        anchor = session.execute(select(Event.txid, Event.id).where(
            Event.public_id == after, Event.merchant_id == merchant_id)).first()
        if anchor is None:
            raise UnknownAnchor(after)
        query = query.where(or_(Event.txid > anchor.txid,
                                and_(Event.txid == anchor.txid, Event.id > anchor.id)))
    if type is not None:
        query = query.where(Event.type == type)
    if (horizon := committed_only(session)) is not None:
        query = query.where(horizon)
    rows = list(session.scalars(query.order_by(Event.txid, Event.id).limit(limit + 1)))
    return FeedPage(rows[:limit], len(rows) > limit)
