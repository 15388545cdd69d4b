"""Fixtures for bookkeeping: the collections clock and merchant, billing settings."""

from __future__ import annotations

from tests.collections.conftest import (  # noqa: F401  (fixtures shared with collections)
    app_context,
    clock,
    collectors,
    merchant,
    outbox,
)
from tests.subscriptions.conftest import billing  # noqa: F401
