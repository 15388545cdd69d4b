"""Each period is billed exactly once: after downtime the scheduler catches up in order; a
scheduler killed mid-run and two schedulers running at once (real ``flask subscriptions run``
processes) never bill a period twice; and a scheduler with a stale view loses on the unique
period row, its whole step rolled back (both databases)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.service import verify_chain
from portal.collections.calendar import bank_today
from portal.collections.models import Debit
from portal.db import state
from portal.invoices.context import Billing
from portal.invoices.models import Invoice
from portal.merchants.models import Merchant
from portal.subscriptions.models import Subscription, SubscriptionPeriod
from portal.subscriptions.periods import period
from portal.subscriptions.scheduler import PeriodTaken, advance, run_scheduler
from portal.subscriptions.service import SubscriptionSpec, start_subscription
from tests.collections.conftest import Clock, active_mandate
from tests.subscriptions.conftest import make_plan

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"


def _start(session: Session, merchant: Merchant, billing: Billing, count: int,
           now: datetime) -> list[Subscription]:
    """``count`` monthly subscriptions started at ``now`` (each bills its first period then)."""
    plan = make_plan(session, merchant, Clock(now), name="Club", amount_cents=1500)
    subscriptions = []
    for number in range(count):
        mandate = active_mandate(session, merchant, name=f"Member {number}",
                                 email=f"member{number}@example.org")
        subscriptions.append(start_subscription(session, merchant, SubscriptionSpec(
            customer=mandate.customer, plan=plan, start_date=bank_today(now), mandate=mandate),
            actor="test", now=now, billing=billing))
    session.commit()
    return subscriptions


def _behind(months: int) -> tuple[datetime, int]:
    """A start ``months`` ago on the real clock (the schedulers' processes use it), and how
    many monthly periods have begun by today."""
    started = datetime.now(UTC) - relativedelta(months=months)
    today = bank_today(datetime.now(UTC))
    begun = 0
    while period(bank_today(started), bank_today(started).day, 1, begun).starts_on <= today:
        begun += 1
    return started, begun


def _periods(app: Flask) -> int:
    with state(app).factory() as session:
        return session.scalar(select(func.count()).select_from(SubscriptionPeriod))


def test_after_downtime_the_scheduler_catches_up_in_order(
        app: Flask, session: Session, merchant: Merchant, billing: Billing,
        clock: Clock) -> None:
    clock.now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    [subscription] = _start(session, merchant, billing, 1, clock.now)
    clock.now = datetime(2026, 5, 20, 9, tzinfo=UTC)  # down since January
    summary = run_scheduler(state(app).factory, worker="one", clock=clock, billing=billing)
    assert summary.billed == [(subscription.public_id, n) for n in range(1, 5)]
    issued = session.scalars(select(Invoice.number).where(
        Invoice.subscription_id == subscription.id).order_by(Invoice.id)).all()
    periods = session.scalars(select(SubscriptionPeriod.starts_on).order_by(
        SubscriptionPeriod.index)).all()
    assert periods == [date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10),
                       date(2026, 4, 10), date(2026, 5, 10)]
    assert issued == [f"INV-2026-0000{n}" for n in range(1, 6)]  # numbered in period order
    again = run_scheduler(state(app).factory, worker="two", clock=clock, billing=billing)
    assert again.billed == [] and _periods(app) == 5


def test_a_scheduler_with_a_stale_view_loses_on_the_period_row_and_rolls_back_its_step(
        app: Flask, session: Session, merchant: Merchant, billing: Billing,
        clock: Clock) -> None:
    clock.now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    [subscription] = _start(session, merchant, billing, 1, clock.now)
    clock.now = datetime(2026, 2, 10, 9, tzinfo=UTC)
    factory = state(app).factory
    with factory() as first, factory() as second:
        mine = first.get(Subscription, subscription.id)
        theirs = second.get(Subscription, subscription.id)
        assert mine.next_period == theirs.next_period == 1  # both read before either wrote
        advance(first, mine, today=date(2026, 2, 10), now=clock.now, billing=billing,
                actor="first")
        first.commit()
        with pytest.raises(PeriodTaken):
            advance(second, theirs, today=date(2026, 2, 10), now=clock.now, billing=billing,
                    actor="second")
        second.rollback()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Invoice)) == 2
    assert session.scalar(select(func.count()).select_from(Debit)) == 2
    assert session.scalars(select(SubscriptionPeriod.decided_by).order_by(
        SubscriptionPeriod.index)).all() == ["test", "first"]


@pytest.mark.slow
def test_a_killed_scheduler_and_two_at_once_never_bill_a_period_twice(
        app: Flask, session: Session, merchant: Merchant, billing: Billing,
        tmp_path: Path) -> None:
    count = 8
    started, periods = _behind(12)
    subscriptions = _start(session, merchant, billing, count, started)
    total = count * periods
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": app.config["SECRET_KEY"],
           "PORTAL_DATA_KEY": app.config["DATA_KEY"],
           "PORTAL_AUDIT_KEY": app.config["AUDIT_KEY"],
           "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_JOBS_IN_PROCESS": "false", "PORTAL_SUBSCRIPTIONS_LEASE_SECONDS": "2"}

    def scheduler(name: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("w")
        return subprocess.Popen([str(FLASK), "--app", "portal", "subscriptions", "run", "--wait",
                                 "--timeout", "120"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)

    first = scheduler("first")
    deadline = time.monotonic() + 120
    while _periods(app) < count + 20 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # watching another process, not waiting for time to pass
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = _periods(app)
    assert first.returncode == -signal.SIGKILL and count < killed_at < total, (
        (tmp_path / "first.log").read_text())
    with state(app).factory() as check:
        held = check.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.claimed_by.is_not(None)))
    assert held >= 1  # the killed scheduler's claim is left behind, to run out

    second, third = scheduler("second"), scheduler("third")
    for name, process in (("second", second), ("third", third)):
        assert process.wait(180) == 0, (tmp_path / f"{name}.log").read_text()

    with state(app).factory() as check:
        rows = check.execute(select(SubscriptionPeriod.subscription_id, SubscriptionPeriod.index,
                                    SubscriptionPeriod.invoice_id,
                                    SubscriptionPeriod.decided_by)).all()
        invoices = check.execute(select(Invoice.subscription_id, Invoice.id)).all()
        debits = check.scalar(select(func.count()).select_from(Debit))
        assert verify_chain(check).ok
    assert len(rows) == total
    assert Counter((s, i) for s, i, _, _ in rows) == {
        (s.id, i): 1 for s in subscriptions for i in range(periods)}
    assert len({invoice for _, _, invoice, _ in rows}) == total == len(invoices) == debits
    # The killed scheduler's work stayed, and the others finished it.
    assert len({decided for *_, decided in rows if decided != "test"}) >= 2


def test_two_schedulers_at_once_share_the_work_and_bill_each_period_once(
        app: Flask, session: Session, merchant: Merchant, billing: Billing) -> None:
    count = 4
    started, periods = _behind(8)
    subscriptions = _start(session, merchant, billing, count, started)
    clock = datetime.now
    ready = threading.Barrier(2)
    summaries: dict[str, object] = {}

    def work(name: str) -> None:
        ready.wait()
        summaries[name] = run_scheduler(state(app).factory, worker=name,
                                        clock=lambda: clock(UTC), billing=billing)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with state(app).factory() as check:
        rows = check.execute(select(SubscriptionPeriod.subscription_id,
                                    SubscriptionPeriod.index,
                                    SubscriptionPeriod.decided_by)).all()
    assert Counter((s, i) for s, i, _ in rows) == {
        (s.id, i): 1 for s in subscriptions for i in range(periods)}
    billed = {name: len(summary.billed) for name, summary in summaries.items()}  # type: ignore[attr-defined]
    assert sum(billed.values()) == count * (periods - 1)
    assert all(billed.values()), billed  # both really worked at the same time
