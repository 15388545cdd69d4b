"""The whole collection cycle on a simulated clock, for the demo: schedule a debit on a signed
mandate, then let the days pass — export, the sandbox bank clearing on the collection date,
its camt.054 imported, retries, and the pay link after the last failure — printing what
happened each day. On the provider route the sandbox provider's recurring charges are settled
on their collection date as the sandbox bank would (by the same test accounts), the way a
tester would at ``/sandbox/payments/…``. Uses the app's own database, so the API and webhooks
see it all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Flask
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.collections.calendar import BANK_TIMEZONE
from portal.collections.cycle import run_collections
from portal.collections.lifecycle import SETTLED
from portal.collections.models import Debit, DebitAttempt, DebitStatus, Route
from portal.collections.routes import Collectors
from portal.collections.sandbox_bank import TEST_ACCOUNTS, outcome_for
from portal.collections.service import DebitRequest, schedule_debit
from portal.db import session_scope
from portal.events.models import Event
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Mandate


@dataclass
class SimulatedClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def behaviour_of(iban: str | None) -> str:
    account = next((a for a in TEST_ACCOUNTS if a.iban == iban), None)
    return account.behaviour if account else "pays every collection"


def _describe(event: Event, route: Route = Route.BANK) -> str:
    data = event.data
    if event.type == "debit.scheduled":
        return f"collection on {data['collection_date']} ({data['sequence_type']}); the " \
               "debtor is pre-notified by email"
    if event.type == "debit.submitted" and route == Route.PROVIDER:
        return f"a recurring payment at the provider (EndToEndId {data.get('end_to_end_id')})"
    if event.type == "debit.submitted":
        return f"in a pain.008 file for the sandbox bank (EndToEndId {data.get('end_to_end_id')})"
    if event.type == "debit.failed":
        text = f"{data.get('reason_code')} {data.get('reason') or ''}".strip()
        if data.get("will_retry"):
            return f"{text}; retry on {data['retry_collection_date']}"
        link = data.get("pay_link") or "none"
        return f"{text}; no more attempts; pay link: {link}"
    if event.type == "debit.retry_scheduled":
        return f"attempt {data['attempt']} on {data['collection_date']}; pre-notified again"
    return data.get("status", "")


def simulate(app: Flask, mandate_public_id: str, *, amount_cents: int, days: int,
             echo: Callable[[str], None]) -> DebitStatus:
    """Collect ``amount_cents`` from the mandate and run the days until the debit settles."""
    adapters = get_adapters(app)
    clock = SimulatedClock(adapters.clock())
    start = clock.now
    previous_clock = app.config.get("CLOCK")
    app.config["CLOCK"] = clock  # the adapters' clock reads it: the whole app runs simulated
    collectors = adapters.collectors
    try:
        with app.app_context(), session_scope(app) as session:
            mandate = session.scalar(select(Mandate).where(Mandate.public_id ==
                                                           mandate_public_id))
            if mandate is None:
                raise LookupError(f"no mandate {mandate_public_id}")
            iban = None
            if mandate.iban_ciphertext:
                from portal.mandates.service import debtor_iban

                iban = debtor_iban(session, mandate)
            echo(f"Collecting {amount_cents / 100:.2f} EUR from {mandate.public_id} "
                 f"({mandate.iban_masked}: {behaviour_of(iban)})")
            debit = schedule_debit(session, DebitRequest(
                mandate=mandate, amount_cents=amount_cents, description="Demo membership"),
                policy=collectors.policy, actor="demo", now=clock())
            debit_id, debit_public_id, route = debit.id, debit.public_id, debit.route
        seen = 0
        status = DebitStatus.SCHEDULED
        for day in range(days + 1):
            local = (start.astimezone(BANK_TIMEZONE) + timedelta(days=day)).date()
            clock.now = datetime.combine(local, time(8), BANK_TIMEZONE).astimezone(UTC)
            with app.app_context():
                if day:
                    run_collections(app, collectors, clock())
                    _settle_sandbox_charges(app, collectors, local)
                run_due_jobs(app, limit=200)
            with session_scope(app) as session:
                events = session.scalars(select(Event).where(Event.subject == debit_public_id)
                                         .order_by(Event.id)).all()[seen:]
                seen += len(events)
                for event in events:
                    echo(f"  {local}  {event.type:<22} {_describe(event, route)}")
                current = session.get(Debit, debit_id)
                status = current.status if current else DebitStatus.CANCELLED
            if status in SETTLED:
                break
        return status
    finally:
        if previous_clock is None:
            app.config.pop("CLOCK", None)
        else:
            app.config["CLOCK"] = previous_clock


def _settle_sandbox_charges(app: Flask, collectors: Collectors, today: date) -> None:
    """Settle the sandbox provider's pending recurring charges due by ``today``: paid, or
    failed with the reason the sandbox bank gives the account on that presentation."""
    from portal.collections.provider_route import refresh_attempt
    from portal.providers.base import PaymentStatus
    from portal.sandbox.provider import SandboxProvider, complete_sandbox_payment, payer_iban

    with session_scope(app) as session:
        attempts = session.scalars(
            select(DebitAttempt).join(Debit, Debit.id == DebitAttempt.debit_id)
            .where(DebitAttempt.provider == "sandbox", DebitAttempt.outcome.is_(None),
                   DebitAttempt.provider_payment_id.is_not(None),
                   DebitAttempt.collection_date <= today,
                   Debit.status == DebitStatus.SUBMITTED)).all()
        provider = collectors.providers(session, "sandbox")
        assert isinstance(provider, SandboxProvider)
        for attempt in attempts:
            charge = provider.find(attempt.provider_payment_id or "")
            if charge.status != PaymentStatus.PENDING:
                continue
            account = payer_iban(charge)
            code = outcome_for(account, attempt.number - 1) if account else None
            complete_sandbox_payment(charge, PaymentStatus.FAILED if code else PaymentStatus.PAID,
                                     issuer=None, payer_name=charge.payer_name,
                                     payer_iban=account, now=get_adapters(app).clock(),
                                     session=session)
            if code:
                charge.failure_reason = code
            session.commit()
            refresh_attempt(session, attempt, provider, collectors, source="sandbox")
