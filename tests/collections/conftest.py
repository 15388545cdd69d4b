"""Fixtures for collections: a clock the test moves, merchants set up to collect, active
mandates with a chosen account, and helpers to run the collection cycle on that clock."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.clock import now as clock_now
from portal.collections.calendar import BANK_TIMEZONE
from portal.collections.models import Debit, DebitAttempt, DebitStatus, SeqType
from portal.collections.routes import Collectors
from portal.collections.service import DebitRequest, configure_collections, schedule_debit
from portal.ids import new_public_id
from portal.jobs.models import Job, JobStatus
from portal.jobs.service import run_due_jobs
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import Mandate, Scheme, SequenceType, SigningMethod
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from tests.factories import make_invitation, make_merchant

FILES = Path(__file__).parent / "files"
CREDITOR_IBAN = "NL91ABNA0417164300"


@dataclass
class Clock:
    """The portal's now, moved by the test (never slept through)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date, hour: int = 10) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=BANK_TIMEZONE) \
            .astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def app_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Services read the clock and settings of the app, as they do inside a request or job
    (for tests that have an app; pure ones stay unparametrised by database)."""
    if "app" not in request.fixturenames:
        yield
        return
    with request.getfixturevalue("app").app_context():
        yield


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock(datetime(2026, 3, 20, 9, tzinfo=UTC))  # a Friday, two weeks before Easter
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def collectors(app: Flask) -> Collectors:
    return get_adapters(app).collectors


@dataclass
class PayLinkRecorder:
    """Stands in for the checkout's pay links: remembers what it was asked for."""

    issued: list[tuple[str, int]] = field(default_factory=list)

    def issue(self, session: Session, debit: Debit, now: datetime) -> str | None:
        self.issued.append((debit.public_id, debit.amount_cents))
        return f"http://localhost/pay/{debit.public_id}"


@pytest.fixture
def pay_links(collectors: Collectors) -> PayLinkRecorder:
    recorder = PayLinkRecorder()
    collectors.pay_links = recorder
    return recorder


def collecting_merchant(session: Session, **settings: object) -> Merchant:
    merchant = make_merchant(session)
    configure_collections(session, merchant.id, actor="test", creditor_iban=CREDITOR_IBAN,
                          creditor_bic="ABNANL2A", **settings)
    return merchant


@pytest.fixture
def merchant(app: Flask, session: Session, clock: Clock) -> Merchant:
    merchant = collecting_merchant(session)
    session.commit()
    return merchant


def active_mandate(session: Session, merchant: Merchant, *, iban: str = "NL91ABNA0417164300",
                   bic: str | None = None, scheme: Scheme = Scheme.CORE,
                   sequence_type: SequenceType = SequenceType.RECURRENT,
                   name: str = "Sam de Vries", email: str | None = "sam@example.org",
                   signed_on: date = date(2026, 1, 15),
                   signing_method: SigningMethod | None = None,
                   validation_reference: str | None = "0020000012345678",
                   max_amount_cents: int | None = None) -> Mandate:
    """A mandate signed and activated through the state machine, on this account; signed at
    the bank, it has the validation reference an accepted pain.012 records
    (tests/emandates/test_collections.py takes the real way there)."""
    invitation = make_invitation(session, merchant, sequence_type=sequence_type,
                                 customer_email=email, customer_name=name)
    mandate = invitation.mandate
    # A B2B mandate comes from the debtor's bank, which the test stands in for.
    mandate.scheme = scheme
    apply_transition(session, mandate, MandateAction.SUBMIT, actor="test", now=clock_now())
    set_debtor_account(session, mandate, iban, bic)
    mandate.debtor_name = name
    mandate.signing_method = signing_method or (
        SigningMethod.BANK_EMANDATE if scheme == Scheme.B2B
        else SigningMethod.PAYMENT_VERIFICATION)
    if mandate.signing_method == SigningMethod.BANK_EMANDATE:
        mandate.validation_reference = validation_reference
    mandate.max_amount_cents = max_amount_cents
    mandate.signed_at = datetime(signed_on.year, signed_on.month, signed_on.day, 12, tzinfo=UTC)
    apply_transition(session, mandate, MandateAction.ACTIVATE, actor="test", now=clock_now())
    session.flush()
    return mandate


def debit_on(session: Session, collectors: Collectors, mandate: Mandate,
             amount_cents: int = 2500, **fields: object) -> Debit:
    return schedule_debit(session, DebitRequest(mandate=mandate, amount_cents=amount_cents,
                                                description=fields.pop("description",
                                                                       "Membership March"),
                                                **fields),
                          policy=collectors.policy, actor="test")


def history(session: Session, mandate: Mandate, *, outcome: DebitStatus = DebitStatus.COLLECTED,
            on: date = date(2026, 2, 3)) -> DebitAttempt:
    """A collection in the mandate's past, as the bank last saw it (its account, reference)."""
    debit = Debit(public_id=new_public_id("dbt"), merchant_id=mandate.merchant_id,
                  mandate=mandate, customer_id=mandate.customer_id, route=_route(),
                  scheme=mandate.scheme.value, status=outcome, amount_cents=1000,
                  original_amount_cents=1000, description="earlier", collection_date=on,
                  sequence_type=SeqType.FIRST, attempt=1, will_retry=False,
                  created_at=datetime(on.year, on.month, on.day, tzinfo=UTC),
                  updated_at=datetime(on.year, on.month, on.day, tzinfo=UTC))
    session.add(debit)
    session.flush()
    attempt = DebitAttempt(
        debit=debit, merchant_id=mandate.merchant_id, mandate_id=mandate.id, number=1,
        end_to_end_id=f"HIST{secrets.token_hex(8)}-1", sequence_type=SeqType.FIRST,
        collection_date=on, amount_cents=1000, debtor_iban_ciphertext=mandate.iban_ciphertext,
        debtor_iban_hash=mandate.iban_hash, debtor_bic=mandate.bic,
        mandate_reference=mandate.reference, creditor_id=mandate.merchant.creditor_id,
        outcome=outcome, created_at=debit.created_at)
    session.add(attempt)
    session.flush()
    return attempt


def _route():
    from portal.collections.models import Route

    return Route.BANK


def run_jobs(app: Flask) -> int:
    return run_due_jobs(app, limit=500)


def pending_jobs(session: Session, kind: str) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.kind == kind,
                                                  Job.status == JobStatus.PENDING)))


@pytest.fixture
def outbox(app: Flask) -> Iterator[Path]:
    yield Path(app.instance_path) / "outbox"
