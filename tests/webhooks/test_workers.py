"""Real ``flask --app portal worker`` processes on PostgreSQL: a worker killed mid-delivery
leaves it to the next one once its lease ends; two workers never send the same event at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import tests.conftest as base
from portal import create_app
from portal.db import state
from portal.events.service import emit_event
from portal.merchants.models import Merchant
from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from portal.webhooks.service import configure_endpoint
from tests.factories import make_merchant
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    return base.new_postgres_database(request, "portal_template")


@pytest.fixture
def pg_app(pg_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": pg_url, "SECRET_KEY": "test-secret-key",
                      "DATA_KEY": "test-data-key", "INSTANCE_PATH": str(tmp_path / "instance"),
                      "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True})
    yield app
    state(app).dispose()


@pytest.fixture
def workers(pg_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(lease: int) -> subprocess.Popen:
        log = tmp_path / f"worker-{len(started)}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PORTAL_DATABASE_URL": pg_url, "PORTAL_SECRET_KEY": "test-secret-key",
               "PORTAL_DATA_KEY": "test-data-key",
               "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
               "PORTAL_JOBS_LEASE_SECONDS": str(lease), "PORTAL_JOBS_IN_PROCESS": "false",
               "PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
               "PORTAL_WEBHOOK_RETRY_SCHEDULE": "[1, 1, 1, 1, 1, 1]"}
        process = subprocess.Popen([str(FLASK), "--app", "portal", "worker", "--poll", "0.1"],
                                   cwd=ROOT, env=env, stdout=log.open("w"),
                                   stderr=subprocess.STDOUT)
        process.log = log  # type: ignore[attr-defined]
        started.append(process)
        # Start-up alone can take a minute when the machine's two cores are shared.
        _wait(lambda: "running" in log.read_text() or process.poll() is not None, 180)
        assert process.poll() is None, log.read_text()
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` with short pauses until it holds or the deadline passes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _merchant_with_endpoint(app: Flask, session: Session, url: str) -> Merchant:
    merchant = make_merchant(session)
    with app.app_context():
        configure_endpoint(session, merchant, url)
    session.commit()
    return merchant


def _emit(app: Flask, session: Session, merchant: Merchant, count: int) -> list[str]:
    with app.app_context():
        events = [emit_event(session, merchant_id=merchant.id, type="mandate.created",
                             subject=f"md_{n}", data={"n": n}) for n in range(count)]
    session.commit()
    return [event.public_id for event in events]


def _succeeded(app: Flask) -> int:
    with state(app).factory() as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status == DeliveryStatus.SUCCEEDED))


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_after_its_lease(
        pg_app: Flask, workers) -> None:
    lease = 4
    receiver = Receiver()
    receiver.hang_first = 1
    receiver.start()
    try:
        with state(pg_app).factory() as session:
            merchant = _merchant_with_endpoint(pg_app, session, receiver.url)
            [event_id] = _emit(pg_app, session, merchant, 1)
        first = workers(lease)
        assert receiver.wait_for(1, 60), first.log.read_text()
        first.send_signal(signal.SIGKILL)  # while the request is in flight
        first.wait(10)
        receiver.release()

        second = workers(lease)
        assert _wait(lambda: _succeeded(pg_app) == 1, 60), second.log.read_text()
    finally:
        receiver.stop()

    assert receiver.ids() == [event_id, event_id]  # twice at most; de-duplicable by webhook-id
    assert receiver.requests[1].at - receiver.requests[0].at >= lease - 0.5  # the lease held
    with state(pg_app).factory() as session:
        delivery = session.scalar(select(WebhookDelivery))
        attempts = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 2
        assert [(a.error, a.http_status) for a in attempts] == [("Interrupted", None),
                                                                (None, 200)]


def test_two_workers_deliver_fifty_events_exactly_once_never_concurrently(
        pg_app: Flask, workers) -> None:
    receiver = Receiver()
    receiver.delay = 0.05
    # One worker keeps at most WEBHOOK_ENDPOINT_CONCURRENCY requests in flight to an endpoint:
    # the first are held until one more arrives, so the second worker takes part however soon
    # the first could have sent all fifty alone on a slow machine.
    both = pg_app.config["WEBHOOK_ENDPOINT_CONCURRENCY"] + 1
    receiver.hold_until_in_flight = both
    receiver.start()
    try:
        with state(pg_app).factory() as session:
            merchant = _merchant_with_endpoint(pg_app, session, receiver.url)
        first, second = workers(30), workers(30)
        with state(pg_app).factory() as session:
            event_ids = _emit(pg_app, session, merchant, 50)
        assert _wait(lambda: _succeeded(pg_app) == 50, 120), (
            first.log.read_text() + second.log.read_text())
    finally:
        receiver.stop()

    assert receiver.overlaps == []  # no event id was ever in flight twice at the same time
    assert Counter(receiver.ids()) == Counter(event_ids)  # all 50, each exactly once
    assert receiver.max_in_flight >= both  # in flight at once, from both workers
    with state(pg_app).factory() as session:
        workers_used = session.scalars(select(WebhookAttempt.sent_by).distinct()).all()
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert len(workers_used) == 2 and attempts == 50
