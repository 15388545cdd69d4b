"""Delivery workers: many requests in flight per process, a share per endpoint, batched records.

A :class:`Dispatcher` runs one event loop. Each round it records the outcomes gathered so far
and claims due deliveries for the free slots in one transaction, starts their requests, and waits until enough outcomes arrived or a short flush interval passed. An endpoint
never holds more than ``WEBHOOK_ENDPOINT_CONCURRENCY`` of the ``WEBHOOK_CONCURRENCY`` slots, and
its deliveries are not even claimed while it has no room, so a slow or dead endpoint delays
only itself. Database work runs in a thread; the loop keeps sending meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

import httpx
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from portal.clock import Clock, utcnow
from portal.db import state
from portal.webhooks.claims import Claimed, DeliverySettings, Result, claim_batch, complete_batch
from portal.webhooks.sender import Outcome, new_client, send

log = logging.getLogger(__name__)

#: Sends one claimed delivery and says what happened; the real one POSTs it over HTTP.
Transport = Callable[[Claimed, DeliverySettings], Awaitable[Outcome]]


class HttpTransport:
    """POSTs through one client per endpoint, each with at most ``endpoint_concurrency``
    connections (reused between deliveries).

    One client per endpoint rather than one for all: httpcore's pool scans every request
    against every connection whenever one changes, so one pool of 64 connections spends more
    CPU than the requests themselves (``bench/webhooks.py``); ten pools of eight do not. It also
    keeps one merchant's connections and cookies apart from another's. Clients of endpoints
    with nothing in flight are closed once there are more than ``max_idle``."""

    def __init__(self, max_idle: int = 256) -> None:
        self._clients: OrderedDict[int, httpx.AsyncClient] = OrderedDict()
        self._busy: Counter[int] = Counter()
        self.max_idle = max_idle

    async def __call__(self, claimed: Claimed, settings: DeliverySettings) -> Outcome:
        client = self._clients.get(claimed.merchant_id)
        if client is None:
            client = self._clients[claimed.merchant_id] = new_client(
                settings.endpoint_concurrency)
        self._clients.move_to_end(claimed.merchant_id)
        self._busy[claimed.merchant_id] += 1
        try:
            return await send(client, claimed.url, claimed.body, claimed.headers,
                              settings.timeouts, allow_private=settings.allow_private)
        finally:
            self._busy[claimed.merchant_id] -= 1
            if not self._busy[claimed.merchant_id]:
                del self._busy[claimed.merchant_id]
            await self._close_idle()

    async def _close_idle(self) -> None:
        if len(self._clients) - len(self._busy) <= self.max_idle:
            return
        idle = [key for key in self._clients if key not in self._busy]  # oldest use first
        for key in idle[:max(0, len(idle) - self.max_idle)]:
            await self._clients.pop(key).aclose()

    async def aclose(self) -> None:
        while self._clients:
            await self._clients.popitem()[1].aclose()


class Dispatcher:
    def __init__(self, factory: sessionmaker[Session], settings: DeliverySettings, *,
                 worker: str, clock: Clock = utcnow, transport: Transport | None = None,
                 context: Callable[[], AbstractContextManager[object]] = nullcontext) -> None:
        self.factory, self.settings, self.worker, self.clock = factory, settings, worker, clock
        self.transport: Transport = transport or HttpTransport()
        #: Entered around database work in its thread (the app context, for the services).
        self.context = context
        self.in_flight: dict[asyncio.Task[Result], Claimed] = {}
        self.per_endpoint: Counter[int] = Counter()
        self.results: list[Result] = []
        #: Loop time the oldest outcome not yet recorded came in (None: none waiting).
        self._first_result: float | None = None
        #: Outcomes recorded so far, and a notice for whoever waits on progress (tests).
        self.recorded = 0
        self._progress: tuple[asyncio.AbstractEventLoop, asyncio.Condition] | None = None
        self._wake: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    @property
    def progress(self) -> asyncio.Condition:
        """Notified whenever outcomes were recorded (one per event loop the dispatcher runs in)."""
        loop = asyncio.get_running_loop()
        if self._progress is None or self._progress[0] is not loop:
            self._progress = (loop, asyncio.Condition())
        return self._progress[1]

    @property
    def wake(self) -> asyncio.Event:
        """Set when a request finished or a round ended (one per event loop, as ``progress``)."""
        loop = asyncio.get_running_loop()
        if self._wake is None or self._wake[0] is not loop:
            self._wake = (loop, asyncio.Event())
        return self._wake[1]

    @classmethod
    def for_app(cls, app: Flask, *, worker: str, transport: Transport | None = None
                ) -> Dispatcher:
        return cls(state(app).factory, DeliverySettings.from_config(app.config), worker=worker,
                   clock=app.config.get("CLOCK") or utcnow, transport=transport,
                   context=app.app_context)

    # -- database work, in a thread ------------------------------------------------------
    def _exchange(self, results: list[Result], limit: int, room: dict[int, int]
                  ) -> tuple[int, list[Claimed]]:
        """One transaction: record ``results``, then claim up to ``limit`` due deliveries (at
        most ``room[merchant]`` more for an endpoint that has requests in flight)."""
        full = [merchant for merchant, left in room.items() if left <= 0]
        default = self.settings.endpoint_concurrency
        with self.context(), self.factory() as session:
            now = self.clock()
            recorded = complete_batch(session, results, worker=self.worker, now=now,
                                      settings=self.settings, commit=False)
            batch = claim_batch(session, worker=self.worker, now=now, limit=limit,
                                settings=self.settings, skip=full, commit=False,
                                endpoint_room=lambda merchant: room.get(merchant, default)
                                ) if limit > 0 else []
            session.commit()
            return recorded, batch

    # -- the loop --------------------------------------------------------------------------
    async def _attempt(self, claimed: Claimed) -> Result:
        attempted_at: datetime = self.clock()
        try:
            outcome = await self.transport(claimed, self.settings)
        except Exception as exc:  # a transport bug is a failed attempt, never a lost delivery
            log.exception("webhook transport failed")
            outcome = Outcome(None, type(exc).__name__, 0, str(exc))
        return Result(claimed, outcome, attempted_at)

    def _start(self, claimed: Claimed) -> None:
        self.per_endpoint[claimed.merchant_id] += 1
        task = asyncio.create_task(self._attempt(claimed))
        self.in_flight[task] = claimed
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Result]) -> None:
        """A request finished: its slot is free and its outcome waits for the next round."""
        claimed = self.in_flight.pop(task)
        self.per_endpoint[claimed.merchant_id] -= 1
        if not self.per_endpoint[claimed.merchant_id]:
            del self.per_endpoint[claimed.merchant_id]
        if not task.cancelled():  # a cancelled one is left to its lease (sent again)
            self.results.append(task.result())
            if self._first_result is None:
                self._first_result = asyncio.get_running_loop().time()
        self.wake.set()

    async def _round(self, claim: bool = True) -> tuple[int, int]:
        """Record the outcomes gathered so far and claim due deliveries into the free slots, in
        one transaction; start their requests. Returns (slots asked for, requests started)."""
        free = self.settings.concurrency - len(self.in_flight) if claim else 0
        if not self.results and free <= 0:
            return 0, 0
        # A snapshot: the requests in flight only ever free room while the claim runs.
        room = {merchant: self.settings.endpoint_concurrency - count
                for merchant, count in self.per_endpoint.items()}
        results, self.results, first = self.results, [], self._first_result
        self._first_result = None
        try:
            recorded, batch = await asyncio.to_thread(self._exchange, results, free, room)
        except BaseException:
            self.results = results + self.results  # kept for the next round (the lease holds)
            self._first_result = first
            raise
        for claimed in batch:
            self._start(claimed)
        if results:
            self.recorded += recorded
            async with self.progress:
                self.progress.notify_all()
        return free, len(batch)

    async def _wait(self, timeout: float) -> None:
        """Until a request finishes or a round ends, at most ``timeout`` seconds."""
        wake = self.wake
        wake.clear()
        try:
            await asyncio.wait_for(wake.wait(), max(timeout, 0))
        except TimeoutError:
            pass

    async def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set, then let the requests in flight finish and record
        them (each ends within its timeout).

        The database round runs beside the requests, not between them: while one records and
        claims, the requests in flight go on and finish, and the next round starts as soon as
        this one ends, with what gathered meanwhile. A round starts when ``batch_size``
        outcomes wait, when the oldest has waited ``flush_seconds``, or when slots are free and
        the last claim filled all it asked for (more may be due); otherwise claims look again
        every ``poll_seconds``."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        current: asyncio.Task[tuple[int, int]] | None = None
        next_claim = loop.time()
        try:
            while not stop.is_set():
                now = loop.time()
                if current is not None and current.done():
                    try:
                        asked, started = current.result()
                        next_claim = now if started and started >= asked else now + poll_seconds
                    except Exception:  # e.g. the database restarting: log, wait, carry on
                        log.exception("webhook delivery round failed; retrying")
                        next_claim = now + poll_seconds
                        if self._first_result is not None:
                            self._first_result = now + poll_seconds - settings.flush_seconds
                    current = None
                free = settings.concurrency - len(self.in_flight)
                flush_at = (None if self._first_result is None else now
                            if len(self.results) >= settings.batch_size
                            else self._first_result + settings.flush_seconds)
                if current is None:
                    due = [at for at in (flush_at, next_claim if free > 0 else None)
                           if at is not None]
                    if due and min(due) <= now:
                        current = asyncio.create_task(self._round())
                        current.add_done_callback(lambda _: self.wake.set())
                        continue
                    timeout = min([*(at - now for at in due), poll_seconds])
                else:
                    timeout = poll_seconds
                await self._wait(timeout)
            if current is not None:
                await asyncio.gather(current, return_exceptions=True)
            await self._finish()
        finally:
            if isinstance(self.transport, HttpTransport):
                await self.transport.aclose()

    async def _gather(self, timeout: float) -> None:
        """Wait for outcomes: until a batch is full, ``flush_seconds`` after the first one, or
        ``timeout`` without any."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.in_flight and len(self.results) < self.settings.batch_size:
            if self._first_result is not None:
                deadline = min(deadline, self._first_result + self.settings.flush_seconds)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self._wait(remaining)

    async def drain(self) -> int:
        """Deliver everything due now, including what falls due while doing it (the clock
        permitting); returns how many outcomes were recorded."""
        try:
            while True:
                _, started = await self._round()
                # (Outcomes of requests that ended during the round wait for the next one.)
                if not started and not self.in_flight and not self.results:
                    break
                await self._gather(self.settings.timeouts.total + 1)
            return self.recorded
        finally:
            if isinstance(self.transport, HttpTransport):
                await self.transport.aclose()

    async def _finish(self) -> None:
        """Record outcomes as the requests in flight end (each within its timeout)."""
        while self.in_flight:
            await self._gather(self.settings.timeouts.total + 1)
            if self.results:
                await self._round(claim=False)
        await self._round(claim=False)


def deliver_due(app: Flask, *, worker: str = "inline", transport: Transport | None = None) -> int:
    """Send every delivery due now and record the outcomes (tests, ``make run``'s runner)."""
    return asyncio.run(Dispatcher.for_app(app, worker=worker, transport=transport).drain())


def start_dispatcher(app: Flask, stop: threading.Event, poll_seconds: float,
                     worker: str) -> threading.Thread:
    """A thread running a dispatcher beside the job loop of a worker (or web) process; it looks
    for due deliveries every ``poll_seconds`` or ``WEBHOOK_POLL_SECONDS``, whichever is less."""
    dispatcher = Dispatcher.for_app(app, worker=worker)
    poll_seconds = min(poll_seconds, float(app.config["WEBHOOK_POLL_SECONDS"]))
    thread = threading.Thread(target=lambda: asyncio.run(dispatcher.run(stop, poll_seconds)),
                              name="portal-webhooks", daemon=True)
    thread.start()
    return thread
