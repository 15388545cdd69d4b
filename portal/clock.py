"""The portal's notion of now: UTC-aware, injectable in tests through ``app.config['CLOCK']``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def wire_time(moment: datetime) -> str:
    """The one format times leave the portal in (API, webhooks, feed): ISO 8601 in UTC with
    ``Z``, to the second, so the same event reads the same everywhere."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    """Now, from the app's clock when inside an app context, else the system clock."""
    from flask import current_app, has_app_context

    if has_app_context():
        clock: Clock = current_app.config.get("CLOCK") or utcnow
        return clock()
    return utcnow()
