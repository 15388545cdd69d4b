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
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, FixedWindowRateLimiter, RateLimiter
from redis.exceptions import NoScriptError, RedisError
from werkzeug.exceptions import TooManyRequests

View = TypeVar("View", bound=Callable[..., Any])
#: A limit as written in config ("60 per minute", "10/minute;100/day"), or a function that
#: reads it at request time (see :func:`configured`).
LimitValue = str | Callable[[], str]


@dataclass(frozen=True)
class Configured:
    """A limit read from config at request time (``RATELIMIT_<NAME>``)."""

    name: str

    def __call__(self) -> str:
        return self.read(current_app.config)

    def read(self, config: Mapping[str, Any]) -> str:
        return config[f"RATELIMIT_{self.name}"]


def configured(name: str) -> Configured:
    """A limit read from config at request time (``RATELIMIT_<NAME>``)."""
    return Configured(name)


@dataclass
class Counting:
    """One app's counters: its storage and strategy, and the limits it has parsed so far."""

    enabled: bool
    strategy: RateLimiter
    parsed: dict[str, list[RateLimitItem]] = field(default_factory=dict)
    lanes: Lanes = field(default_factory=lambda: Lanes())

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


def _resp(*parts: str | bytes) -> bytes:
    """One command in the Redis protocol (RESP): an array of bulk strings."""
    encoded = [part.encode() if isinstance(part, str) else part for part in parts]
    return b"".join([b"*%d\r\n" % len(encoded),
                     *(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)])


@dataclass
class Lane:
    """One thread's own connection to the limits' Redis, and the hits sent on it whose answers
    are not read yet."""

    connection: Any
    pending: PendingCount | None = None


class Lanes(threading.local):
    """Each thread's own connection, made from the storage's pool but never returned to it: a
    hit goes out and is answered without the pool's checkout, its readiness poll and its
    bookkeeping, which cost more than the hit itself. A forked process makes its own."""

    def __init__(self) -> None:
        self.pid, self.lane = 0, None

    def get(self, storage: RedisStorage) -> Lane:
        if self.lane is None or self.pid != os.getpid():
            pool = storage.get_connection().connection_pool
            self.pid, self.lane = os.getpid(), Lane(pool.make_connection())
        return self.lane


#: WSGI environ key: {scope: PendingCount} of a request counted before Flask dispatched it.
PRECOUNTED = "portal.limits.precounted"


@dataclass(frozen=True)
class ViewLimit:
    """The limit a view was decorated with, and the scope its counters are kept under."""

    value: LimitValue
    scope: str

    def send(self, app: Flask, client: str, environ: dict[str, Any]) -> PendingCount:
        """Count one request to the view before the app dispatches it (outside any request
        context); the view's decorator takes the count from ``environ`` instead of counting
        again, and reads its verdict as usual."""
        counting: Counting = app.extensions["rate_limits"]
        value = self.value
        if isinstance(value, Configured):
            value = value.read(app.config)
        elif callable(value):
            with app.app_context():
                value = value()
        items = counting.items(value) if counting.enabled else []
        pending = PendingCount(counting, items, client, self.scope)
        environ[PRECOUNTED] = {self.scope: pending}
        return pending


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
                # Counted already by whatever answered before the app (portal.sign.fast_page)?
                pending = request.environ.pop(PRECOUNTED, {}).get(scope)
                g.rate_limit_pending = pending = pending or send_count(value, scope)
                try:
                    return view(*args, **kwargs)
                finally:  # over the limit, a 429 replaces whatever the view answered or raised
                    pending.verdict()

            limited.rate_limit = ViewLimit(value, scope)  # type: ignore[attr-defined]
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
        """The library's own counting script (``incr`` of a fixed window), sent on this
        thread's own connection (:class:`Lanes`) in one write; :meth:`close` reads the
        answers. If it cannot be sent, :meth:`exhausted` counts the library's way."""
        lane = self.counting.lanes.get(storage)
        if lane.pending is not None:  # never read (cannot happen via the views): read it now
            lane.pending.close()
        sha = storage.lua_incr_expire.sha
        command = b"".join(_resp(b"EVALSHA", sha, b"1", storage.prefixed_key(self._key(item)),
                                 str(item.get_expiry()), b"1") for item in self.items)
        try:
            lane.connection.send_packed_command([command], check_health=False)
        except (RedisError, OSError):  # the connection is dropped; the next one reconnects
            self.counts = [None] * len(self.items)
            return
        self._connection, lane.pending = lane.connection, self
        self._lane = lane

    def close(self) -> None:
        """Read the answers (once); a connection left half-read is dropped, never reused."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        self._lane.pending = None
        counts: list[int | None] = []
        try:
            for _ in self.items:
                try:
                    counts.append(int(connection.read_response()))
                except NoScriptError:  # Redis lost the script: that hit was not counted
                    counts.append(None)
        except (RedisError, OSError):  # read_response dropped the connection
            counts += [None] * (len(self.items) - len(counts))  # counted again, the slow way
        except BaseException:
            connection.disconnect()
            raise
        self.counts = counts

    def exhausted(self) -> RateLimitItem | None:
        """The first of the limits this request went over, or None (the answer is read once)."""
        self.close()
        storage = self.counting.strategy.storage
        counts = self.counts or []
        for index, (item, counted) in enumerate(zip(self.items, counts, strict=True)):
            if counted is None:  # counted again the library's way (it loads the script)
                counted = counts[index] = storage.incr(self._key(item), item.get_expiry())
            if counted > item.amount:
                return item
        return None

    def verdict(self) -> None:
        """Raise 429 if any of the limits is exhausted (once: later calls return)."""
        if self._checked:
            return
        self._checked = True
        if (item := self.exhausted()) is not None:
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
