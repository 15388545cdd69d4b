"""The bulk import on both databases: a file written in several steps still imports all or
nothing (a reference taken late in the file, a unique constraint firing in the last step, the
database failing mid-write), its progress shows while its transaction is open, its search keys
are the ones the model listeners write, and merchants' webhooks learn of every mandate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import portal.batches.jobs
import portal.batches.service
import portal.batches.writers
from portal.audit.models import AuditEvent
from portal.audit.service import verify_chain
from portal.batches.models import BatchStatus, CsvBatch, ImportedMandate
from portal.batches.progress import progress_file, rows_written
from portal.batches.service import batch_errors, request_import
from portal.clock import utcnow
from portal.db import state
from portal.events.models import Event
from portal.events.service import emit_event, emit_events
from portal.ids import new_public_id
from portal.jobs.models import Job
from portal.mandates.models import (
    Customer,
    CustomerSearchTerm,
    Mandate,
    MandateStatus,
    Scheme,
    SequenceType,
)
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.service import configure_endpoint, disable_endpoint
from tests.batches.conftest import MANDATE_HEADER, csv_text, iban, mandate_rows, run_batch_jobs
from tests.batches.conftest import upload as upload_file
from tests.factories import make_merchant

#: Rows per step in these tests, so a file of a few rows is written in several steps.
STEP = 2
WRITTEN = (Mandate, Customer, CustomerSearchTerm, ImportedMandate)


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portal.batches.service, "ROWS_PER_STEP", STEP)


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    counts = {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
              for model in (*WRITTEN, WebhookDelivery)}
    counts["audit"] = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "mandate.import")) or 0
    counts["events"] = session.scalar(select(func.count()).select_from(Event).where(
        Event.type == "mandate.imported")) or 0
    return counts


def _reload(session: Session, batch: CsvBatch) -> CsvBatch:
    session.expire_all()
    return session.get_one(CsvBatch, batch.id)


def _valid(app: Flask, session: Session, merchant: Merchant, rows: list[list[str]]) -> CsvBatch:
    """A file checked good (a dry run), its import not yet asked for."""
    batch = upload_file(session, merchant, csv_text(MANDATE_HEADER, rows))
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert batch.status is BatchStatus.VALID
    return batch


def _import(app: Flask, session: Session, batch: CsvBatch) -> CsvBatch:
    request_import(session, batch, actor="staff:stf_test", now=utcnow())
    session.commit()
    run_batch_jobs(app)
    return _reload(session, batch)


def test_a_reference_taken_late_in_the_file_leaves_nothing_of_the_steps_before(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    batch = _valid(app, session, merchant, mandate_rows(7))
    taker = upload_file(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(1, start=7)),
                        import_requested=True)  # the last row's reference, after the check
    run_batch_jobs(app)
    assert _reload(session, taker).status is BatchStatus.IMPORTED
    before = _counts(session)
    batch = _import(app, session, batch)
    assert batch.status is BatchStatus.INVALID and batch.import_key is None
    session.expire_all()
    assert [(e.line, e.column) for e in batch_errors(session, batch)] == [(8, "reference")]
    assert _counts(session) == before  # three steps were written, then rolled back
    assert verify_chain(session).ok


def test_a_unique_constraint_firing_in_the_last_step_leaves_nothing(
        app: Flask, session: Session, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrent writer the import's check could not see (here: a check that misses it)
    makes the bulk INSERT itself fail; the whole file is rolled back."""
    merchant = make_merchant(session)
    batch = _valid(app, session, merchant, mandate_rows(7))
    taker = upload_file(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(1, start=7)),
                        import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, taker).status is BatchStatus.IMPORTED
    before = _counts(session)
    monkeypatch.setattr(portal.batches.service, "existing_keys", lambda *args: ())
    batch = _import(app, session, batch)
    assert batch.status is BatchStatus.INVALID
    session.expire_all()
    [error] = batch_errors(session, batch)
    assert error.line == 0
    assert error.reason.startswith("Another change conflicted with this file")
    assert _counts(session) == before
    assert verify_chain(session).ok


def test_a_database_failure_mid_write_leaves_nothing_and_the_retry_imports_once(
        app: Flask, session: Session, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        configure_endpoint(session, merchant, "https://hooks.example/portal")
    batch = _valid(app, session, merchant, mandate_rows(7))
    real = portal.batches.writers.write_mandates
    steps: list[int] = []

    def failing(*args: Any) -> None:
        steps.append(len(args[2]))
        if len(steps) == 3:  # two steps written in the transaction, then the disk fails
            raise OperationalError("INSERT INTO mandate", {}, Exception("disk I/O error"))
        real(*args)

    monkeypatch.setattr(portal.batches.writers, "write_mandates", failing)
    batch = _import(app, session, batch)
    assert steps == [STEP, STEP, STEP]
    assert batch.status is BatchStatus.IMPORTING  # the job will try again
    assert set(_counts(session).values()) == {0}
    path = progress_file(state(app).engine, batch.public_id)
    assert path is None or not path.exists()
    monkeypatch.setattr(portal.batches.writers, "write_mandates", real)
    job = session.scalars(select(Job).where(Job.kind == "batch.import")).one()
    job.run_at = job.created_at  # its retry is due now
    session.commit()
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert (batch.status, batch.created_count) == (BatchStatus.IMPORTED, 7)
    counts = _counts(session)
    assert counts == {"Mandate": 7, "Customer": 7, "CustomerSearchTerm": 14,
                      "ImportedMandate": 7, "WebhookDelivery": 7, "audit": 7, "events": 7}
    assert verify_chain(session).ok


def test_progress_shows_while_the_import_writes_and_nothing_else_does(
        app: Flask, session: Session, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another connection, as the console's page has, reads the count after every step while
    the import's transaction is open, and sees none of its rows."""
    merchant = make_merchant(session)
    batch = _valid(app, session, merchant, mandate_rows(7))
    seen: list[tuple[str, int, int]] = []
    real = portal.batches.jobs.import_progress

    def observed(*args: Any) -> Any:
        progress = real(*args)

        class Observed:
            def __call__(self, rows: int) -> None:
                progress(rows)
                with state(app).factory() as other:
                    shown = other.get_one(CsvBatch, batch.id)
                    seen.append((shown.status.value, rows_written(other, shown),
                                 other.scalar(select(func.count()).select_from(Mandate)) or 0))

            def close(self) -> None:
                progress.close()

        return Observed()

    monkeypatch.setattr(portal.batches.jobs, "import_progress", observed)
    batch = _import(app, session, batch)
    assert batch.status is BatchStatus.IMPORTED
    assert seen == [("importing", 2, 0), ("importing", 4, 0), ("importing", 6, 0),
                    ("importing", 7, 0)]
    assert rows_written(session, batch) == 7
    path = progress_file(state(app).engine, batch.public_id)
    assert (path is None) is (backend == "postgresql")
    assert path is None or not path.exists()  # the count's file goes with the import


MIXED_HEADER = (*MANDATE_HEADER, "email", "external_reference", "debtor_city")


def test_search_keys_are_the_ones_the_model_listeners_write(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    rows = [["OLD-2024/0001", "CORE", "2024-05-17", iban(1), "José Ødegård-Smith", "", "",
             "jose.odegard+sepa@Example.ORG", "CRM 00-42", "Zürich"],
            ["old.2024.0002", "B2B", "2023-01-02", iban(2), "Łukasz Nowak sp. z o.o.", "RCUR",
             "2026-10-01", "", "", ""],
            ["A-1", "CORE", "2024-05-17", iban(3), "Sam", "", "", "s@x.nl", "ext_9", ""]]
    batch = upload_file(session, merchant, csv_text(MIXED_HEADER, rows), import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, batch).status is BatchStatus.IMPORTED
    other = make_merchant(session)
    for row in rows:
        imported = session.scalars(select(Mandate).where(Mandate.merchant_id == merchant.id,
                                                         Mandate.reference == row[0])).one()
        made = _made_normally(session, other, imported)
        assert (made.reference_key, made.iban_last4, made.iban_hash) == (
            imported.reference_key, imported.iban_last4, imported.iban_hash)
        assert _terms(session, made.customer_id) == _terms(session, imported.customer_id)
    assert _terms(session, session.scalars(select(Mandate.customer_id).where(
        Mandate.merchant_id == merchant.id, Mandate.reference == "OLD-2024/0001")).one()) >= {
        ("name", "jose"), ("name", "odegard"), ("email", "example.org"), ("ext", "CRM0042")}


def _made_normally(session: Session, merchant: Merchant, imported: Mandate) -> Mandate:
    """The same customer and mandate written through the ORM, whose listeners set the keys."""
    from portal.mandates.service import debtor_iban

    customer = Customer(public_id=new_public_id("cus"), merchant_id=merchant.id,
                        name=imported.customer.name, email=imported.customer.email,
                        locale="en", external_reference=imported.customer.external_reference,
                        created_at=utcnow())
    mandate = Mandate(public_id=new_public_id("md"), merchant_id=merchant.id,
                      customer=customer, reference=imported.reference, scheme=Scheme.CORE,
                      sequence_type=SequenceType.RECURRENT, status=MandateStatus.ACTIVE,
                      locale="en", created_at=utcnow(), updated_at=utcnow())
    set_debtor_account(session, mandate, debtor_iban(session, imported) or "", None)
    session.add_all([customer, mandate])
    session.flush()
    return mandate


def _terms(session: Session, customer_id: int) -> set[tuple[str, str]]:
    return {(kind, term) for kind, term in session.execute(
        select(CustomerSearchTerm.kind, CustomerSearchTerm.term).where(
            CustomerSearchTerm.customer_id == customer_id))}


def _delivery(session: Session, event_id: int) -> tuple[Any, ...]:
    delivery = session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.event_id == event_id)).one()
    return (delivery.merchant_id, delivery.url, delivery.status, delivery.attempt_count,
            delivery.retry_step, delivery.queue_round, delivery.next_attempt_at,
            delivery.created_at)


def test_bulk_events_get_the_deliveries_one_event_gets_queued_or_parked(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        configure_endpoint(session, merchant, "https://hooks.example/portal")
    now = utcnow()
    for parked in (False, True):
        if parked:
            disable_endpoint(session, merchant, reason="test", now=now)
        one = emit_event(session, merchant_id=merchant.id, type="mandate.imported",
                         subject="md_one", data={"n": 1}, now=now)
        emit_events(session, merchant_id=merchant.id, type="mandate.imported",
                    items=[("md_a", {"n": 2}), ("md_b", {"n": 3})], now=now)
        session.flush()
        bulk = session.scalars(select(Event).where(Event.subject.in_(["md_a", "md_b"]),
                                                   Event.id > one.id)).all()
        assert [e.data for e in bulk] == [{"n": 2}, {"n": 3}]
        assert {_delivery(session, e.id) for e in bulk} == {_delivery(session, one.id)}
        assert _delivery(session, one.id)[2] is DeliveryStatus.PENDING
        assert (_delivery(session, one.id)[6] is None) is parked


def test_an_import_announces_every_mandate_to_the_merchants_webhook(
        app: Flask, session: Session, backend: str) -> None:
    """GoCardless's mandate imports send each mandate's own webhook; so does this import, one
    ``mandate.imported`` per mandate, each with its delivery due at once."""
    merchant = make_merchant(session)
    with app.app_context():
        configure_endpoint(session, merchant, "https://hooks.example/portal")
    session.commit()
    batch = upload_file(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(5)),
                        import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, batch).status is BatchStatus.IMPORTED
    mandates = {m.public_id for m in session.scalars(select(Mandate))}
    events = session.scalars(select(Event).where(Event.type == "mandate.imported")).all()
    assert {e.subject for e in events} == mandates
    assert all(e.data == {"mandate": e.subject, "status": "active",
                          "previous_status": "invited"} for e in events)
    due = session.scalars(select(WebhookDelivery.next_attempt_at)).all()
    assert len(due) == 5 and all(isinstance(at, datetime) for at in due)
