"""Counting the SQL statements a piece of code sends (N+1 checks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from portal.db import state


@contextmanager
def counted_queries(app: Flask) -> Iterator[list[str]]:
    """Every statement the app's engine executes inside the block."""
    statements: list[str] = []
    engine = state(app).engine

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
