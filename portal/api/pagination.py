"""Cursor pagination: ``limit`` plus ``starting_after=<id>`` or the opaque ``cursor`` returned as
``next_cursor``; ordered by row insertion, so pages never skip or repeat an object."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal.api.validation import Field, validation_problem

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_PREFIX = "c1:"

LIMIT = Field("limit", "integer", minimum=1, maximum=MAX_LIMIT,
              description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).", example=20)
STARTING_AFTER = Field("starting_after", "string", max_length=60,
                       description="Return the objects after this id (the last one you have).")
CURSOR = Field("cursor", "string", max_length=120,
               description="The `next_cursor` of the previous page (alternative to "
                           "`starting_after`).")
PAGE_PARAMS = (LIMIT, STARTING_AFTER, CURSOR)
NO_ROW = -1  # no row has this id


def filter_id(session: Session, merchant_id: int, params: dict[str, Any], name: str,
              find: Callable[[Session, int, str], Any]) -> int | None:
    """The row id a list filters on for the public id in query parameter *name*: ``None``
    when the parameter is absent; an id no row has when the public id is unknown, so the list
    is empty rather than a 404 (as Stripe's lists answer)."""
    if name not in params:
        return None
    row = find(session, merchant_id, params[name])
    return NO_ROW if row is None else int(row.id)


@dataclass(frozen=True)
class Page:
    items: list[Any]
    has_more: bool
    next_cursor: str | None


def encode_cursor(public_id: str) -> str:
    return base64.urlsafe_b64encode((CURSOR_PREFIX + public_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text[len(CURSOR_PREFIX):] if text.startswith(CURSOR_PREFIX) else None


@dataclass(frozen=True)
class Anchor:
    """Where a page continues: after this public id, as sent in ``param`` (named in errors)."""

    public_id: str
    param: str


def anchor(params: dict[str, Any], names: tuple[str, ...] = ("starting_after",)) -> Anchor | None:
    """Where to continue, from at most one of ``names`` or ``cursor``."""
    given = [name for name in (*names, "cursor") if params.get(name)]
    if len(given) > 1:
        raise validation_problem([{"field": name, "message": "Give only one of "
                                   f"{', '.join((*names, 'cursor'))}."} for name in given])
    if not given:
        return None
    if given[0] == "cursor":
        decoded = _decode_cursor(params["cursor"])
        if decoded is None:
            raise validation_problem([{"field": "cursor", "message": "Not a cursor we issued."}])
        return Anchor(decoded, "cursor")
    return Anchor(params[given[0]], given[0])


def paginate(session: Session, query: Select, model: Any, merchant_id: int,
             after: Anchor | None, limit: int, *, newest_first: bool) -> Page:
    """One page of ``query`` (already filtered to the merchant), continuing after ``after``; an
    unknown anchor is a 422 naming the parameter it came in."""
    if after is not None:
        row_id = session.scalar(select(model.id).where(model.public_id == after.public_id,
                                                       model.merchant_id == merchant_id))
        if row_id is None:
            raise validation_problem([{"field": after.param,
                                       "message": "No object with this id in this list."}])
        query = query.where(model.id < row_id if newest_first else model.id > row_id)
    query = query.order_by(model.id.desc() if newest_first else model.id.asc()).limit(limit + 1)
    rows = list(session.scalars(query))
    has_more = len(rows) > limit
    items = rows[:limit]
    return Page(items, has_more, encode_cursor(items[-1].public_id) if has_more else None)
