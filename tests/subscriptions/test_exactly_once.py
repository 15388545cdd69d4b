"""Each period is billed exactly once: after downtime the scheduler catches up in order; a
scheduler killed inside a step and two schedulers running at once (real ``flask subscriptions
run`` processes) never bill a period twice; two schedulers share the work; and a scheduler with
a stale view loses on the unique period row, its whole step rolled back (both databases).

Nothing here depends on timing: every clock is fixed, a process is killed at a step it reports
rather than after a while, threads interleave at a chosen point, and every wait ends on an event
with a deadline far beyond any load. Exactly once is read from the database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from select import select as wait_readable

import pytest
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
from portal.subscriptions import scheduler as scheduler_module
from portal.subscriptions.models import Subscription, SubscriptionPeriod
from portal.subscriptions.periods import period
from portal.subscriptions.scheduler import PeriodTaken, RunSummary, advance, run_scheduler
from portal.subscriptions.service import SubscriptionSpec, start_subscription
from tests.collections.conftest import Clock, active_mandate
from tests.subscriptions.conftest import make_plan

ROOT = Path(__file__).resolve().parents[2]
#: How long a wait on another process or thread may take at most: far beyond any machine load;
#: reached only when something is broken (the waits end on an event, not on time).
PROCESS_DEADLINE = 300


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


#: The schedulers' day (a fixed clock, like every clock in these tests), and a start of monthly
#: subscriptions some months before it: eleven periods have begun (20 January … 20 November).
STARTED = datetime(2026, 1, 20, 9, tzinfo=UTC)
TODAY = datetime(2026, 12, 1, 9, tzinfo=UTC)
BEGUN = 11


def _begun(started: datetime, now: datetime) -> int:
    """How many monthly periods of a subscription started at ``started`` have begun by ``now``."""
    start, today, begun = bank_today(started), bank_today(now), 0
    while period(start, start.day, 1, begun).starts_on <= today:
        begun += 1
    return begun


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


class Scheduler:
    """A real scheduler process (``flask subscriptions run --wait`` on a fixed clock, see
    :mod:`tests.subscriptions.scheduler_process`), optionally stopping inside a given step."""

    def __init__(self, name: str, env: dict[str, str], logs: Path, now: datetime,
                 stop_in_step: int | None = None) -> None:
        self.name, self.log = name, logs / f"{name}.log"
        args = [sys.executable, "-m", "tests.subscriptions.scheduler_process",
                "--now", now.isoformat()]
        self.stopped_signal: int | None = None
        write_end = None
        if stop_in_step is not None:
            self.stopped_signal, write_end = os.pipe()
            args += ["--stop-in-step", str(stop_in_step), "--signal-fd", str(write_end)]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT,
                                            pass_fds=(write_end,) if write_end else ())
        if write_end is not None:
            os.close(write_end)  # the child's copy is the only one left: EOF if it dies

    @property
    def worker(self) -> str:
        return f"scheduler:{socket.gethostname()}:{self.process.pid}"

    def wait_until_stopped(self, deadline: float = PROCESS_DEADLINE) -> None:
        """Block until the process reports it stopped inside its step (an event on a pipe,
        with a deadline far beyond any load), failing with its log if it ended instead."""
        assert self.stopped_signal is not None
        ready, _, _ = wait_readable([self.stopped_signal], [], [], deadline)
        said = os.read(self.stopped_signal, 64) if ready else b""
        os.close(self.stopped_signal)
        assert said == b"stopped\n", f"{self.name} did not stop in its step:\n" + self.output()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(PROCESS_DEADLINE) == -signal.SIGKILL

    def finish(self) -> None:
        try:
            code = self.process.wait(PROCESS_DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.name} did not finish:\n{self.output()}") from None
        assert code == 0, f"{self.name} failed:\n{self.output()}"

    def output(self) -> str:
        return self.log.read_text()


@pytest.mark.slow
def test_a_killed_scheduler_and_two_at_once_never_bill_a_period_twice(
        app: Flask, session: Session, merchant: Merchant, billing: Billing, clock: Clock,
        tmp_path: Path) -> None:
    """The first scheduler is killed inside a step, its transaction open (a known point, not a
    moment); once its claim has run out on the clock, two schedulers finish the work at once.
    Exactly once is read from the database: one row per (subscription, period), one invoice and
    one debit per row, the killed step's writes gone."""
    count, stop_in_step = 5, 13
    clock.now = STARTED
    subscriptions = _start(session, merchant, billing, count, STARTED)
    assert _begun(STARTED, TODAY) == BEGUN
    total, steps_each = count * BEGUN, BEGUN - 1  # the first periods were billed at the start
    lease = timedelta(seconds=60)
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": app.config["SECRET_KEY"],
           "PORTAL_DATA_KEY": app.config["DATA_KEY"],
           "PORTAL_AUDIT_KEY": app.config["AUDIT_KEY"],
           "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_JOBS_IN_PROCESS": "false",
           "PORTAL_SUBSCRIPTIONS_LEASE_SECONDS": str(int(lease.total_seconds()))}

    first = Scheduler("first", env, tmp_path, TODAY, stop_in_step=stop_in_step)
    first.wait_until_stopped()
    first.kill()
    with state(app).factory() as check:
        committed = check.execute(select(SubscriptionPeriod.subscription_id,
                                         SubscriptionPeriod.decided_by)).all()
        held = check.scalars(select(Subscription.id).where(
            Subscription.claimed_by.is_not(None))).all()
    # Its steps before the one it was killed in stayed; that one left nothing behind...
    assert len(committed) == count + stop_in_step - 1
    assert sum(decided == first.worker for _, decided in committed) == stop_in_step - 1
    # ...but its claim on the subscription it was in: subscriptions are billed one by one.
    assert held == [subscriptions[(stop_in_step - 1) // steps_each].id]

    # Two schedulers at once, on a clock past the dead claim's lease.
    later = TODAY + lease + timedelta(minutes=1)
    second, third = (Scheduler(name, env, tmp_path, later) for name in ("second", "third"))
    second.finish()
    third.finish()

    with state(app).factory() as check:
        rows = check.execute(select(SubscriptionPeriod.subscription_id, SubscriptionPeriod.index,
                                    SubscriptionPeriod.invoice_id,
                                    SubscriptionPeriod.decided_by)).all()
        invoices = check.execute(select(Invoice.subscription_id, Invoice.id)).all()
        debits = check.scalar(select(func.count()).select_from(Debit))
        still_claimed = check.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.claimed_by.is_not(None)))
        assert verify_chain(check).ok
    assert len(rows) == total
    assert Counter((s, i) for s, i, _, _ in rows) == {
        (s.id, i): 1 for s in subscriptions for i in range(BEGUN)}
    assert len({invoice for _, _, invoice, _ in rows}) == total == len(invoices) == debits
    assert still_claimed == 0
    finishers = {decided for *_, decided in rows} - {"test", first.worker}
    assert finishers <= {second.worker, third.worker} and finishers


def test_two_schedulers_at_once_share_the_work_and_bill_each_period_once(
        app: Flask, session: Session, merchant: Merchant, billing: Billing, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two schedulers in threads, interleaved at a chosen point rather than by luck: "left"
    holds the first subscription between two of its steps while "right" runs to its end. Right
    must leave left's subscription alone and bill all the others; left then finishes its own."""
    count = 4
    clock.now = STARTED
    subscriptions = _start(session, merchant, billing, count, STARTED)
    clock.now = TODAY
    left_holds, right_done = threading.Event(), threading.Event()
    steps = Counter[str]()
    real_lock = scheduler_module._lock_claimed

    def lock_claimed(session: Session, subscription_id: int, worker: str, *args: object,
                     **kwargs: object) -> Subscription | None:
        steps[worker] += 1
        if worker == "left" and steps[worker] == 2:  # one step committed, the claim held
            left_holds.set()
            assert right_done.wait(PROCESS_DEADLINE), "right never finished"
        return real_lock(session, subscription_id, worker, *args, **kwargs)

    monkeypatch.setattr(scheduler_module, "_lock_claimed", lock_claimed)
    summaries: dict[str, RunSummary] = {}
    failures: list[BaseException] = []

    def work(name: str, after: threading.Event | None, then: threading.Event | None) -> None:
        try:
            if after is not None:
                assert after.wait(PROCESS_DEADLINE), f"{name} was never let start"
            summaries[name] = run_scheduler(state(app).factory, worker=name, clock=clock,
                                            billing=billing)
        except Exception as exc:  # noqa: BLE001  (reported by the test, not lost in the thread)
            failures.append(exc)
            left_holds.set()
        finally:
            if then is not None:
                then.set()

    threads = [threading.Thread(target=work, args=("left", None, None)),
               threading.Thread(target=work, args=("right", left_holds, right_done))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROCESS_DEADLINE)
    assert not any(thread.is_alive() for thread in threads) and not failures, failures

    mine, *others = subscriptions
    assert [s for s, _ in summaries["left"].billed] == [mine.public_id] * (BEGUN - 1)
    assert sorted(summaries["right"].billed) == sorted(
        (s.public_id, i) for s in others for i in range(1, BEGUN))
    assert summaries["right"].still_due == 1  # left's, held while right ran
    with state(app).factory() as check:
        rows = check.execute(select(SubscriptionPeriod.subscription_id,
                                    SubscriptionPeriod.index,
                                    SubscriptionPeriod.decided_by)).all()
    assert Counter((s, i) for s, i, _ in rows) == {
        (s.id, i): 1 for s in subscriptions for i in range(BEGUN)}
    assert {decided for s, i, decided in rows if i > 0} == {"scheduler:left", "scheduler:right"}
