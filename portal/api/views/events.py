"""The event feed: the merchant's events oldest first, continuing after a given event."""

from __future__ import annotations

from flask import Response
from sqlalchemy import select

from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, json_response, not_found
from portal.api.inputs import FEED_PARAMS
from portal.api.pagination import DEFAULT_LIMIT, anchor, encode_cursor
from portal.api.serializers import event_json, list_json
from portal.api.validation import read_query, validation_problem
from portal.db import get_session
from portal.events.feed import UnknownAnchor, feed_page
from portal.events.models import Event
from portal.ids import looks_like


@bp.get("/events")
@require_scope("events:read")
def list_events() -> Response:
    params = read_query(FEED_PARAMS)
    after = anchor(params, ("after", "starting_after"))
    try:
        page = feed_page(get_session(), merchant_id(), after=after.public_id if after else None,
                         limit=params.get("limit", DEFAULT_LIMIT), type=params.get("type"))
    except UnknownAnchor:
        raise validation_problem([{"field": after.param if after else "starting_after",
                                   "message": "No object with this id in this list."}]) from None
    # A feed is polled: always say where to continue from, even on the last page.
    last = page.events[-1].public_id if page.events else after.public_id if after else None
    return json_response(list_json([event_json(e) for e in page.events], page.has_more,
                                   encode_cursor(last) if last else None))


@bp.get("/events/<event_id>")
@require_scope("events:read")
def get_event(event_id: str) -> Response:
    event = None
    if looks_like(event_id, "evt"):
        event = get_session().scalar(select(Event).where(
            Event.public_id == event_id, Event.merchant_id == merchant_id()))
    if event is None:
        raise not_found("event")
    return json_response(event_json(event))
