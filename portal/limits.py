"""Rate limits per client address, counted by the ``limits`` library: in memory for one
process, in Redis (``RATELIMIT_STORAGE_URI``) when several processes share the limits.

The portal's limits are simple: one limit per view (per method, where a view names methods),
read from config, counted per client address. This module does exactly that, with one counter
increment per limited request (one round trip to a shared storage) and nothing else; the
window's reset is read from the storage only on a refusal (``Retry-After``). Flask-Limiter did
the same counting with several times the work per request (a before-request check for every
request, its limits parsed again on each one, a second check per stacked decorator), which
was the largest cost of the signing page's hot path."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

View = TypeVar("View", bound=Callable[..., Any])
#: A limit as written in config ("60 per minute", "10/minute;100/day"), or a function that
#: reads it at request time (see :func:`configured`).
LimitValue = str | Callable[[], str]


def configured(name: str) -> Callable[[], str]:
    """A limit read from config at request time (``RATELIMIT_<NAME>``)."""
    return lambda: current_app.config[f"RATELIMIT_{name}"]


@dataclass
class Counting:
    """One app's counters: its storage and strategy, and the limits it has parsed so far."""

    enabled: bool
    strategy: RateLimiter
    parsed: dict[str, list[RateLimitItem]] = field(default_factory=dict)

    def items(self, value: str) -> list[RateLimitItem]:
        items = self.parsed.get(value)
        if items is None:  # each distinct value is parsed once (config rarely changes)
            items = self.parsed[value] = parse_many(value)
        return items


#: How often the in-memory counters are swept of expired windows (memory only: an expired
#: counter is dropped when it is next read anyway). The portal's shortest window is a minute.
MEMORY_SWEEP_SECONDS = 60.0


class SweptMemoryStorage(MemoryStorage):
    """The ``limits`` library's in-memory storage, its sweep of expired counters run at most
    once every :data:`MEMORY_SWEEP_SECONDS`. The library starts a new timer thread for the
    sweep on every hit once the last one has run (10 ms later): on one busy process that was
    a thread started for every few requests, the largest cost of a limited request."""

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        self._next_sweep = 0.0
        super().__init__(uri, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the library's (name-mangled) hook
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + MEMORY_SWEEP_SECONDS
            super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def storage_for(uri: str) -> Storage:
    """The counters' storage named by ``RATELIMIT_STORAGE_URI``."""
    if uri.partition("://")[0] == "memory":
        return SweptMemoryStorage(uri)
    return storage_from_string(uri)


class RequestRateLimiter:
    """``@limiter.limit(configured("SIGN_OPEN"), methods=["GET"])`` on a view."""

    def init_app(self, app: Flask) -> None:
        config = app.config
        strategy = STRATEGIES[config.get("RATELIMIT_STRATEGY", "fixed-window")]
        app.extensions["rate_limits"] = Counting(
            enabled=bool(config.get("RATELIMIT_ENABLED", True)),
            strategy=strategy(storage_for(config["RATELIMIT_STORAGE_URI"])))

    def limit(self, value: LimitValue, methods: list[str] | None = None) -> Callable[[View], View]:
        """Count every request to the view (or only those with one of ``methods``) against
        ``value`` per client address; beyond it, 429 Too Many Requests with Retry-After."""
        wanted = frozenset(method.upper() for method in methods) if methods else None

        def decorate(view: View) -> View:
            scope = f"{view.__module__}.{view.__qualname__}:{','.join(sorted(wanted or ['*']))}"

            @functools.wraps(view)
            def limited(*args: Any, **kwargs: Any) -> Any:
                if wanted is None or request.method in wanted:
                    count(value, scope)
                return view(*args, **kwargs)

            return limited  # type: ignore[return-value]

        return decorate


def count(value: LimitValue, scope: str) -> None:
    """One hit on each of the limits ``value`` names, for this client in ``scope``; raise 429
    when one of them is exhausted."""
    counting: Counting = current_app.extensions["rate_limits"]
    if not counting.enabled:
        return
    client = request.remote_addr or "127.0.0.1"
    for item in counting.items(value() if callable(value) else value):
        if not counting.strategy.hit(item, client, scope):
            reset = counting.strategy.get_window_stats(item, client, scope).reset_time
            raise TooManyRequests(
                f"Too many requests from your address: at most {item}. Please try again "
                "in a moment.", retry_after=max(1, math.ceil(reset - time.time())))


limiter = RequestRateLimiter()


def init_app(app: Flask) -> None:
    limiter.init_app(app)
