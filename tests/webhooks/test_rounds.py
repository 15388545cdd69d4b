"""The dispatcher's rounds with real HTTP: one client per endpoint, a request that ends while a
round is in the database is recorded by the next one, and an endpoint that holds its requests
delays no other. Each runs on SQLite and PostgreSQL; nothing waits on time."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import replace

from flask import Flask
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from portal.webhooks.claims import Claimed, DeliverySettings, Result
from portal.webhooks.models import DeliveryStatus
from portal.webhooks.sender import Outcome
from portal.webhooks.service import configure_endpoint
from portal.webhooks.workers import Dispatcher, HttpTransport
from tests.factories import make_merchant
from tests.webhooks.conftest import Clock, package_verifies
from tests.webhooks.outbox import delivery_statuses, emit_events
from tests.webhooks.receiver import Receiver


def _endpoint(app: Flask, session: Session, receiver: Receiver) -> tuple[Merchant, str]:
    merchant = make_merchant(session)
    with app.app_context():
        secret = configure_endpoint(session, merchant, receiver.url)
    session.commit()
    return merchant, secret


def test_an_endpoint_holding_its_requests_delays_no_other_over_http(
        app: Flask, session: Session, clock: Clock) -> None:
    app.config.update(WEBHOOK_CONCURRENCY=8, WEBHOOK_ENDPOINT_CONCURRENCY=2)
    slow_receiver, fast_receiver = Receiver(), Receiver()
    slow_receiver.hang_first = 2  # held until released: the endpoint's whole share
    slow_receiver.start()
    fast_receiver.start()
    try:
        slow, _ = _endpoint(app, session, slow_receiver)
        fast, secret = _endpoint(app, session, fast_receiver)
        slow_events = emit_events(app, session, slow, 5)  # older, and more than its share
        fast_events = emit_events(app, session, fast, 12)

        async def scenario() -> None:
            dispatcher = Dispatcher.for_app(app, worker="w")
            assert isinstance(dispatcher.transport, HttpTransport)
            stop = threading.Event()
            running = asyncio.create_task(dispatcher.run(stop, poll_seconds=0.01))
            async with asyncio.timeout(60), dispatcher.progress:
                # Every fast delivery is recorded while the slow endpoint holds both its slots.
                await dispatcher.progress.wait_for(lambda: dispatcher.recorded == 12)
            assert len(slow_receiver.requests) == 2
            slow_receiver.release()
            async with asyncio.timeout(60), dispatcher.progress:
                await dispatcher.progress.wait_for(lambda: dispatcher.recorded == 17)
            stop.set()
            await running

        asyncio.run(scenario())
    finally:
        slow_receiver.stop()
        fast_receiver.stop()
    assert Counter(fast_receiver.ids()) == Counter(fast_events)
    assert Counter(slow_receiver.ids()) == Counter(slow_events)
    assert slow_receiver.max_in_flight <= 2 and fast_receiver.max_in_flight <= 2
    assert all(package_verifies(secret, request) for request in fast_receiver.requests)
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 17}


class HeldRound:
    """Wraps a dispatcher's database round: the second one waits, in its thread, until a
    request that was in flight when it began has finished and its outcome is waiting."""

    def __init__(self, dispatcher: Dispatcher, endpoint: HeldEndpoint) -> None:
        self.dispatcher, self.endpoint = dispatcher, endpoint
        self.loop = asyncio.get_running_loop()
        self.calls = 0
        self.finished = threading.Event()
        self.pending_during_round: list[int] = []
        inner_exchange, inner_done = dispatcher._exchange, dispatcher._done

        def exchange(results: list[Result], limit: int, room: dict[int, int]
                     ) -> tuple[int, list[Claimed]]:
            self.calls += 1
            if self.calls == 2:
                self.loop.call_soon_threadsafe(self.endpoint.release.set)
                assert self.finished.wait(30)
                self.pending_during_round.append(len(dispatcher.results))
            return inner_exchange(results, limit, room)

        def done(task: asyncio.Task[Result]) -> None:
            held = dispatcher.in_flight[task].event_id == self.endpoint.held
            inner_done(task)
            if held:
                self.finished.set()

        dispatcher._exchange = exchange  # type: ignore[method-assign]
        dispatcher._done = done  # type: ignore[method-assign]


class HeldEndpoint:
    """Answers 200 at once, except to the event ``held``, which waits for ``release``."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def __call__(self, claimed: Claimed, settings: DeliverySettings) -> Outcome:
        self.sent.append(claimed.event_id)
        if claimed.event_id == self.held:
            await self.release.wait()
        return Outcome(200, None, 1, "ok")


def test_drain_records_a_request_that_ended_while_a_round_was_in_the_database(
        app: Flask, session: Session, clock: Clock) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        configure_endpoint(session, merchant, "https://hooks.example/portal")
    session.commit()
    events = emit_events(app, session, merchant, 3)
    transport = HeldEndpoint(events[0])

    async def scenario() -> int:
        dispatcher = Dispatcher.for_app(app, worker="w", transport=transport)
        held = HeldRound(dispatcher, transport)
        recorded = await dispatcher.drain()
        # The held request ended during the second round: recorded by a third, not dropped.
        assert held.pending_during_round == [1] and held.calls >= 3
        return recorded

    assert asyncio.run(scenario()) == 3
    assert sorted(transport.sent) == sorted(events)
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 3}


def test_requests_go_on_while_a_round_is_in_the_database(
        app: Flask, session: Session, clock: Clock) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        configure_endpoint(session, merchant, "https://hooks.example/portal")
    session.commit()
    events = emit_events(app, session, merchant, 3)
    transport = HeldEndpoint(events[0])

    async def scenario() -> None:
        dispatcher = Dispatcher.for_app(app, worker="w", transport=transport)
        held = HeldRound(dispatcher, transport)
        stop = threading.Event()
        running = asyncio.create_task(dispatcher.run(stop, poll_seconds=0.01))
        async with asyncio.timeout(60), dispatcher.progress:
            await dispatcher.progress.wait_for(lambda: dispatcher.recorded == 3)
        stop.set()
        await running
        assert held.pending_during_round[0] >= 1  # the held one, at least

    asyncio.run(scenario())
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 3}


def test_the_transport_keeps_one_client_per_endpoint_and_closes_idle_ones(
        app: Flask, session: Session, clock: Clock) -> None:
    receivers = [Receiver().start() for _ in range(3)]
    try:
        merchants = [_endpoint(app, session, receiver)[0] for receiver in receivers]
        for merchant in merchants:
            emit_events(app, session, merchant, 2)
        transport = HttpTransport(max_idle=1)
        dispatcher = Dispatcher.for_app(app, worker="w", transport=transport)

        async def scenario() -> None:
            await dispatcher.drain()  # drain closes the transport at the end
            assert transport._clients == {}

        clients: list[int] = []
        inner = transport._close_idle

        async def close_idle() -> None:
            await inner()
            clients.append(len(transport._clients) - len(transport._busy))

        transport._close_idle = close_idle  # type: ignore[method-assign]
        asyncio.run(scenario())
    finally:
        for receiver in receivers:
            receiver.stop()
    assert clients and max(clients) <= 1  # never more than max_idle idle clients kept
    assert all(len(receiver.requests) == 2 for receiver in receivers)
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 6}


def test_stopping_records_outcomes_while_the_last_requests_are_in_flight(
        app: Flask, session: Session, clock: Clock) -> None:
    [held_merchant, other] = [make_merchant(session) for _ in range(2)]
    with app.app_context():
        configure_endpoint(session, held_merchant, "https://held.example/portal")
        configure_endpoint(session, other, "https://other.example/portal")
    session.commit()
    [held_event] = emit_events(app, session, held_merchant, 1)
    emit_events(app, session, other, 1)
    transport = HeldEndpoint(held_event)
    stop = threading.Event()
    recorded: list[int] = []

    async def scenario() -> None:
        dispatcher = Dispatcher.for_app(app, worker="w", transport=transport)
        dispatcher.settings = replace(dispatcher.settings, flush_seconds=0)
        inner_done = dispatcher._done

        def done(task: asyncio.Task[Result]) -> None:
            inner_done(task)
            stop.set()  # asked to stop with an outcome waiting and a request in flight

        dispatcher._done = done  # type: ignore[method-assign]
        running = asyncio.create_task(dispatcher.run(stop, poll_seconds=0.01))
        while not stop.is_set():
            await asyncio.sleep(0)
        async with dispatcher.progress:  # the waiting outcome is recorded before the last ends
            await dispatcher.progress.wait_for(lambda: dispatcher.recorded == 1)
        transport.release.set()
        await running
        recorded.append(dispatcher.recorded)

    # In a thread: a loop that never yields would hang the test instead of failing it.
    thread = threading.Thread(target=lambda: asyncio.run(scenario()), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and recorded == [2]
    assert delivery_statuses(session) == {DeliveryStatus.SUCCEEDED: 2}
