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

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, FixedWindowRateLimiter, RateLimiter
from redis.exceptions import NoScriptError
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

    def limit(self, value: LimitValue, methods: list[str] | None = None, *,
              verdict_in_view: bool = False) -> Callable[[View], View]:
        """Count every request to the view (or only those with one of ``methods``) against
        ``value`` per client address; beyond it, 429 Too Many Requests with Retry-After.

        ``verdict_in_view``: the count is sent before the view runs and its answer read when
        the view calls :func:`verdict` (after its reads, before it writes or answers), so that
        the view's own reads overlap the storage's round trip. If the view never asks, the
        verdict is read when it returns or raises: over the limit, the answer is a 429 either
        way. (Every limit of the value is counted, even past an exhausted one.)"""
        wanted = frozenset(method.upper() for method in methods) if methods else None

        def decorate(view: View) -> View:
            scope = f"{view.__module__}.{view.__qualname__}:{','.join(sorted(wanted or ['*']))}"

            @functools.wraps(view)
            def limited(*args: Any, **kwargs: Any) -> Any:
                if wanted is not None and request.method not in wanted:
                    return view(*args, **kwargs)
                if not verdict_in_view:
                    count(value, scope)
                    return view(*args, **kwargs)
                g.rate_limit_pending = pending = send_count(value, scope)
                try:
                    return view(*args, **kwargs)
                finally:  # over the limit, a 429 replaces whatever the view answered or raised
                    pending.verdict()

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
            _refuse(counting, item, client, scope)


def _refuse(counting: Counting, item: RateLimitItem, client: str, scope: str) -> None:
    reset = counting.strategy.get_window_stats(item, client, scope).reset_time
    raise TooManyRequests(
        f"Too many requests from your address: at most {item}. Please try again "
        "in a moment.", retry_after=max(1, math.ceil(reset - time.time())))


class PendingCount:
    """A request's hits on its limits, sent to Redis and not yet answered: the request does its
    reads meanwhile instead of waiting for Redis first (a blocking round trip costs a worker
    far more than the hit itself on a busy machine). Other storages count at once; with
    limits off, ``items`` is empty and nothing is counted."""

    def __init__(self, counting: Counting, items: list[RateLimitItem], client: str,
                 scope: str) -> None:
        self.counting, self.items, self.client, self.scope = counting, items, client, scope
        self.counts: list[int | None] | None = None
        self._connection: Any = None
        self._checked = False
        storage = counting.strategy.storage
        if items and isinstance(storage, RedisStorage) and isinstance(
                counting.strategy, FixedWindowRateLimiter):
            self._send(storage)
        else:
            self.counts = [storage.incr(self._key(item), item.get_expiry()) for item in items]

    def _key(self, item: RateLimitItem) -> str:
        return item.key_for(self.client, self.scope)

    def _send(self, storage: RedisStorage) -> None:
        """The library's own counting script (``incr`` of a fixed window), sent on a
        connection of the client's pool; its answers are read by :meth:`close`."""
        pool = storage.get_connection().connection_pool
        connection = pool.get_connection()
        try:
            for item in self.items:
                connection.send_command("EVALSHA", storage.lua_incr_expire.sha, 1,
                                        storage.prefixed_key(self._key(item)),
                                        item.get_expiry(), 1)
        except BaseException:
            connection.disconnect()
            pool.release(connection)
            raise
        self._connection, self._pool = connection, pool

    def close(self) -> None:
        """Read the answers (once); a connection left half-read is dropped, never reused."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        counts: list[int | None] = []
        try:
            for _ in self.items:
                try:
                    counts.append(int(connection.read_response()))
                except NoScriptError:  # Redis lost the script: that hit was not counted
                    counts.append(None)
        except BaseException:
            connection.disconnect()
            raise
        finally:
            self._pool.release(connection)
        self.counts = counts

    def verdict(self) -> None:
        """Raise 429 if any of the limits is exhausted (the answer is read once)."""
        self.close()
        if self._checked:
            return
        self._checked = True
        storage = self.counting.strategy.storage
        for item, counted in zip(self.items, self.counts or [], strict=True):
            if counted is None:  # counted again the library's way (it loads the script)
                counted = storage.incr(self._key(item), item.get_expiry())
            if counted > item.amount:
                _refuse(self.counting, item, self.client, self.scope)


def send_count(value: LimitValue, scope: str) -> PendingCount:
    """One hit on each of the limits ``value`` names, for this client in ``scope``, its
    verdict read later (:meth:`PendingCount.verdict`)."""
    counting: Counting = current_app.extensions["rate_limits"]
    items = counting.items(value() if callable(value) else value) if counting.enabled else []
    return PendingCount(counting, items, request.remote_addr or "127.0.0.1", scope)


def verdict() -> None:
    """In a view limited with ``verdict_in_view``: 429 now if the request is over a limit.
    Call it after the view's reads and before it writes anything or answers."""
    pending: PendingCount | None = g.get("rate_limit_pending")
    if pending is not None:
        pending.verdict()


limiter = RequestRateLimiter()


def init_app(app: Flask) -> None:
    limiter.init_app(app)
