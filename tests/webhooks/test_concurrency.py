"""Delivery promises with many requests in flight: never twice at once, a slow endpoint holds
back only itself, a killed worker's batch is sent again, and a slower transaction's event is
delivered too. Each runs on SQLite and PostgreSQL; time moves by the injected clock."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.db import state
from portal.events.service import emit_event
from portal.merchants.models import Merchant
from portal.webhooks.claims import Claimed, DeliverySettings
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from portal.webhooks.sender import Outcome
from portal.webhooks.service import configure_endpoint
from portal.webhooks.workers import Dispatcher, deliver_due
from tests.factories import make_merchant
from tests.webhooks.conftest import Clock, Endpoint
from tests.webhooks.outbox import delivery_statuses, emit_events
from tests.webhooks.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"


class FakeEndpoints:
    """A transport without a network: answers 200 at once, except for the endpoints in
    ``held``, whose requests wait until :meth:`release`. Records what was in flight."""

    def __init__(self, held: set[int] = frozenset()) -> None:
        self.held = set(held)
        self.released = asyncio.Event()
        #: Set when the first held request arrives.
        self.holding = asyncio.Event()
        self.sent: list[Claimed] = []
        self.in_flight: Counter[str] = Counter()
        self.per_endpoint: Counter[int] = Counter()
        self.most_per_endpoint: Counter[int] = Counter()
        self.overlaps: list[str] = []

    async def __call__(self, claimed: Claimed, settings: DeliverySettings) -> Outcome:
        self.sent.append(claimed)
        self.in_flight[claimed.event_id] += 1
        if self.in_flight[claimed.event_id] > 1:
            self.overlaps.append(claimed.event_id)
        self.per_endpoint[claimed.merchant_id] += 1
        self.most_per_endpoint[claimed.merchant_id] = max(
            self.most_per_endpoint[claimed.merchant_id], self.per_endpoint[claimed.merchant_id])
        try:
            if claimed.merchant_id in self.held:
                self.holding.set()
                await self.released.wait()
            await asyncio.sleep(0)  # let other requests interleave
            return Outcome(200, None, 1, "ok")
        finally:
            self.in_flight[claimed.event_id] -= 1
            self.per_endpoint[claimed.merchant_id] -= 1

    def release(self) -> None:
        self.released.set()


def _merchants(app: Flask, session: Session, count: int) -> list[Merchant]:
    merchants = [make_merchant(session) for _ in range(count)]
    with app.app_context():
        for number, merchant in enumerate(merchants):
            configure_endpoint(session, merchant, f"https://hooks{number}.example/portal")
    session.commit()
    return merchants


def test_a_slow_endpoint_does_not_hold_back_the_others(
        app: Flask, session: Session, clock: Clock) -> None:
    app.config.update(WEBHOOK_CONCURRENCY=16, WEBHOOK_ENDPOINT_CONCURRENCY=3)
    slow, *fast = _merchants(app, session, 10)
    emit_events(app, session, slow, 20)  # the oldest, and more than all slots together
    for merchant in fast:
        emit_events(app, session, merchant, 6)
    transport = FakeEndpoints(held={slow.id})

    async def scenario() -> None:
        dispatcher = Dispatcher.for_app(app, worker="w1", transport=transport)
        stop = threading.Event()
        running = asyncio.create_task(dispatcher.run(stop, poll_seconds=0.01))
        async with asyncio.timeout(60), dispatcher.progress:
            # Every fast delivery is recorded while the slow endpoint has not answered once.
            await dispatcher.progress.wait_for(lambda: dispatcher.recorded == 9 * 6)
        assert transport.per_endpoint[slow.id] == 3  # it holds its own share, and no more
        transport.release()
        async with asyncio.timeout(60), dispatcher.progress:
            await dispatcher.progress.wait_for(lambda: dispatcher.recorded == 9 * 6 + 20)
        stop.set()
        await running

    asyncio.run(scenario())
    assert transport.most_per_endpoint[slow.id] == 3
    assert max(transport.most_per_endpoint.values()) <= 3
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 74}
    assert transport.overlaps == []


def test_no_delivery_is_sent_twice_while_one_is_in_flight(
        app: Flask, session: Session, clock: Clock) -> None:
    [held, other] = _merchants(app, session, 2)
    [held_event] = emit_events(app, session, held, 1)
    others = emit_events(app, session, other, 30)
    first = FakeEndpoints(held={held.id})
    second = FakeEndpoints()
    lease = DeliverySettings.from_config(app.config).lease

    async def scenario() -> None:
        a = Dispatcher.for_app(app, worker="a", transport=first)
        b = Dispatcher.for_app(app, worker="b", transport=second)
        stop = threading.Event()
        running = asyncio.create_task(a.run(stop, poll_seconds=0.01))
        async with asyncio.timeout(60):
            await first.holding.wait()  # the first worker has it in flight
            # Two workers at once, then a late one just before the lease ends: none takes it.
            await b.drain()
            clock.advance(seconds=lease.total_seconds() - 1)
            await b.drain()
            assert not any(c.event_id == held_event for c in second.sent)
            first.release()
            async with a.progress:
                await a.progress.wait_for(lambda: a.recorded + b.recorded >= 31)
        stop.set()
        await running

    asyncio.run(scenario())
    sent = Counter(c.event_id for c in first.sent + second.sent)
    assert sent == Counter([held_event, *others])  # each exactly once, across both workers
    assert first.overlaps == second.overlaps == []
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 31}


def test_an_outcome_that_lost_its_lease_is_not_recorded_over_the_new_one(
        app: Flask, session: Session, clock: Clock) -> None:
    [merchant] = _merchants(app, session, 1)
    [event] = emit_events(app, session, merchant, 1)
    late = FakeEndpoints(held={merchant.id})
    lease = DeliverySettings.from_config(app.config).lease

    async def scenario() -> None:
        a = Dispatcher.for_app(app, worker="a", transport=late)
        stop = threading.Event()
        running = asyncio.create_task(a.run(stop, poll_seconds=0.01))
        await late.holding.wait()
        clock.advance(seconds=lease.total_seconds() + 1)  # as if "a" had stalled past its lease
        assert await Dispatcher.for_app(app, worker="b", transport=FakeEndpoints()).drain() == 1
        late.release()
        stop.set()
        await running
        assert a.recorded == 0  # its outcome came too late: dropped, not recorded twice

    asyncio.run(scenario())
    attempts = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [(a.error, a.http_status, a.sent_by) for a in attempts] == [
        ("Interrupted", None, "a"), (None, 200, "b")]
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 1}
    assert event


def test_a_killed_workers_in_flight_batch_is_redelivered(
        app: Flask, session: Session, endpoint: Endpoint, clock: Clock, tmp_path: Path) -> None:
    receiver = endpoint.receiver
    receiver.hang_first = 5
    events = emit_events(app, session, endpoint.merchant, 5)
    log = tmp_path / "worker.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": app.config["SECRET_KEY"],
           "PORTAL_DATA_KEY": app.config["DATA_KEY"], "PORTAL_INSTANCE_PATH": app.instance_path,
           "PORTAL_JOBS_IN_PROCESS": "false", "PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    worker = subprocess.Popen([str(FLASK), "--app", "portal", "worker", "--poll", "0.05"],
                              cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        # The whole batch is in flight (start-up alone can take a minute on shared cores).
        assert receiver.wait_for(5, 180), log.read_text()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    receiver.release()
    assert deliver_due(app) == 0  # their lease still holds: nobody sends them meanwhile

    clock.move_to(utcnow() + timedelta(seconds=app.config["JOBS_LEASE_SECONDS"] + 1))
    assert deliver_due(app) == 5
    assert Counter(receiver.ids()) == Counter({event: 2 for event in events})
    session.expire_all()
    for delivery in session.scalars(select(WebhookDelivery)):
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 2
        assert [(a.error, a.http_status) for a in delivery.attempts] == [
            ("Interrupted", None), (None, 200)]


def test_a_slower_transactions_event_is_delivered_too(
        app: Flask, session: Session, backend: str, clock: Clock) -> None:
    [merchant] = _merchants(app, session, 1)
    transport = FakeEndpoints()
    dispatcher = Dispatcher.for_app(app, worker="w", transport=transport)
    factory = state(app).factory
    with factory() as slow, factory() as fast, app.app_context():
        early = emit_event(slow, merchant_id=merchant.id, type="mandate.created",
                           subject="md_slow", data={})
        slow.flush()  # its id and its delivery's id are handed out first
        if backend == "postgresql":
            late = emit_event(fast, merchant_id=merchant.id, type="mandate.created",
                              subject="md_fast", data={})
            fast.commit()  # the later transaction commits first
            assert asyncio.run(dispatcher.drain()) == 1
            slow.commit()
        else:  # SQLite writers commit one at a time (tests/events/test_feed.py)
            slow.commit()
            late = emit_event(fast, merchant_id=merchant.id, type="mandate.created",
                              subject="md_fast", data={})
            fast.commit()
            assert asyncio.run(dispatcher.drain()) == 2
        asyncio.run(dispatcher.drain())
    sent = [c.event_id for c in transport.sent]
    assert sorted(sent) == sorted([early.public_id, late.public_id])
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 2}


def test_a_receiver_in_another_thread_sees_at_most_one_request_per_event(
        app: Flask, session: Session, clock: Clock) -> None:
    receiver = Receiver()
    receiver.delay = 0.01
    receiver.start()
    try:
        merchant = make_merchant(session)
        with app.app_context():
            configure_endpoint(session, merchant, receiver.url)
        session.commit()
        events = emit_events(app, session, merchant, 40)
        results: list[int] = []
        threads = [threading.Thread(target=lambda w=w: results.append(
            deliver_due(app, worker=w))) for w in ("x", "y")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        receiver.stop()
    assert receiver.overlaps == [] and Counter(receiver.ids()) == Counter(events)
    assert sum(results) == 40 and receiver.max_in_flight > 1
