"""Batches on both databases: the dry run reports every bad row by line, column and reason and
writes nothing; a good file imports in one go, once, however often it is uploaded; imported
mandates are active, encrypted, audited and announced, and their next debit follows their
history."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.audit.service import verify_chain
from portal.batches.models import BatchKind, BatchStatus, CsvBatch, CsvBatchError
from portal.batches.service import Limits, batch_errors, store_upload
from portal.collections.models import SeqType
from portal.collections.service import sequence_type_for
from portal.db import cipher_of
from portal.events.models import Event
from portal.invoices.models import Invoice
from portal.mandates.models import Customer, Invitation, Mandate, MandateStatus
from portal.mandates.service import debtor_iban, find_mandates_by_iban
from portal.payments.models import PaymentRequest
from tests.batches.conftest import (
    MANDATE_HEADER,
    csv_text,
    iban,
    mandate_rows,
    run_batch_jobs,
    upload,
)
from tests.factories import make_merchant


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _errors(session: Session, batch: CsvBatch) -> set[tuple[int, str, str]]:
    session.expire_all()
    return {(e.line, e.column, e.reason) for e in batch_errors(session, batch)}


def _reload(session: Session, batch: CsvBatch) -> CsvBatch:
    session.expire_all()
    return session.get_one(CsvBatch, batch.id)


def test_a_mixed_file_reports_each_bad_row_precisely_and_imports_nothing(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    good = mandate_rows(3)
    bad_iban = iban(50)[:-1] + ("0" if iban(50)[-1] != "0" else "1")
    rows = [
        good[0],
        ["OLD-B1", "CORE", "2024-05-17", bad_iban, "Wrong Digits", "", ""],       # line 3
        ["OLD-B2", "SEPA", "2024-05-17", iban(51), "Unknown Scheme", "", ""],     # line 4
        [good[0][0], "CORE", "2024-05-17", iban(52), "Repeated Ref", "", ""],     # line 5
        ["OLD-B4", "CORE", "2024-13-01", iban(53), "Bad Date", "", ""],           # line 6
        ["OLD-B5", "CORE", "2099-01-01", iban(54), "Future Signature", "", ""],   # line 7
        good[1],
        ["OLD-B6", "B2B", "2024-05-17", iban(55), "", "RCUR", ""],                # line 9
        ["OLD-B7", "CORE", "2024-05-17", iban(56), "Final Used", "FNAL", "2025-01-02"],
        good[2],
    ]
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, rows), import_requested=True)
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert batch.status is BatchStatus.INVALID
    found = _errors(session, batch)
    lines = {line for line, _, _ in found}
    assert lines == {3, 4, 5, 6, 7, 9, 10}
    by_line = {line: (column, reason) for line, column, reason in found}
    assert by_line[3][0] == "iban" and "check digits" in by_line[3][1].lower()
    assert by_line[4] == ("scheme", "Unknown scheme: use CORE or B2B.")
    assert by_line[5] == ("reference", "Repeats line 2 of this file.")
    assert by_line[6][0] == "signature_date" and "date like" in by_line[6][1]
    assert by_line[7] == ("signature_date", "Must not be in the future.")
    assert {(9, "debtor_name", "Required."),
            (9, "last_collection_date", "Required when last_sequence_type is given.")} <= found
    assert by_line[10][0] == "last_sequence_type"
    assert _count(session, Mandate) == 0 and _count(session, Customer) == 0
    assert batch.import_key is None  # a fixed file may be imported later


def test_a_good_file_imports_active_mandates_encrypted_audited_and_announced(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(4)),
                   import_requested=True)
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert (batch.status, batch.rows_total, batch.created_count) == (BatchStatus.IMPORTED, 4, 4)
    mandates = list(session.scalars(select(Mandate).order_by(Mandate.reference)))
    assert [m.status for m in mandates] == [MandateStatus.ACTIVE] * 4
    first = mandates[0]
    assert first.iban_ciphertext and iban(1) not in first.iban_ciphertext
    assert first.iban_hash == cipher_of(session).lookup_hash(iban(1))
    assert debtor_iban(session, first) == iban(1)
    assert find_mandates_by_iban(session, merchant, iban(1)) == [first]
    assert first.evidence["imported"] is True
    assert first.evidence["file_sha256"] == batch.sha256
    assert first.evidence["imported_by"] == "staff:stf_test"
    assert first.evidence["batch"] == batch.public_id
    # Odd rows were collected there (RCUR): their next debit is recurring; even rows first.
    assert sequence_type_for(session, mandates[0], final=False) is SeqType.RECURRING
    assert sequence_type_for(session, mandates[1], final=False) is SeqType.FIRST
    audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "mandate.import"))
    assert {a.subject for a in audits} == {m.public_id for m in mandates}
    events = session.scalars(select(Event).where(Event.type == "mandate.imported"))
    assert sorted(e.subject for e in events) == sorted(m.public_id for m in mandates)
    assert verify_chain(session).ok  # the chain advanced a step at a time is still one chain


def test_an_imported_mandate_expires_36_months_after_its_last_collection_there(
        app: Flask, session: Session, backend: str) -> None:
    from datetime import UTC, datetime

    from portal.collections.expiry import expire_unused_mandates

    merchant = make_merchant(session)
    rows = [["OLD-E1", "CORE", "2020-01-06", iban(1), "Signed Long Ago", "RCUR", "2026-10-01"]]
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, rows), import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, batch).status is BatchStatus.IMPORTED
    mandate = session.scalars(select(Mandate)).one()
    assert expire_unused_mandates(session, 36, now=datetime(2029, 9, 1, tzinfo=UTC)) == []
    expired = expire_unused_mandates(session, 36, now=datetime(2029, 10, 2, tzinfo=UTC))
    assert expired == [mandate.public_id]


def test_the_same_file_twice_imports_once(app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    text = csv_text(MANDATE_HEADER, mandate_rows(3))
    first = upload(session, merchant, text, import_requested=True)
    run_batch_jobs(app)
    again = upload(session, merchant, text, import_requested=True)
    run_batch_jobs(app)
    assert again.id == first.id  # the earlier batch answers; nothing new was queued
    assert _count(session, Mandate) == 3
    assert _count(session, CsvBatch) == 1
    other = make_merchant(session)  # another merchant's file is its own
    theirs = upload(session, other, text, import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, theirs).status is BatchStatus.IMPORTED
    assert _count(session, Mandate) == 6


def test_a_dry_run_writes_nothing_and_its_import_follows_on_request(
        app: Flask, session: Session, backend: str) -> None:
    from portal.batches.service import request_import
    from portal.clock import utcnow

    merchant = make_merchant(session)
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(2)))
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert batch.status is BatchStatus.VALID and _count(session, Mandate) == 0
    request_import(session, batch, actor="staff:stf_test", now=utcnow())
    session.commit()
    run_batch_jobs(app)
    assert _reload(session, batch).status is BatchStatus.IMPORTED
    assert _count(session, Mandate) == 2


def test_references_the_merchant_has_are_refused_and_a_late_conflict_rolls_back(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(1, start=7)),
           import_requested=True)
    run_batch_jobs(app)
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(3, start=5)))
    run_batch_jobs(app)
    assert _errors(session, batch) == {(4, "reference",
                                        "A mandate with this reference exists already.")}
    # Checked good, then another batch takes a reference before the import: nothing written.
    late = upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(3, start=20)))
    run_batch_jobs(app)
    assert _reload(session, late).status is BatchStatus.VALID
    upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(1, start=22)),
           import_requested=True)
    run_batch_jobs(app)
    before = _count(session, Mandate)
    from portal.batches.service import request_import
    from portal.clock import utcnow

    late = _reload(session, late)
    request_import(session, late, actor="staff:stf_test", now=utcnow())
    session.commit()
    run_batch_jobs(app)
    late = _reload(session, late)
    assert late.status is BatchStatus.INVALID
    assert _errors(session, late) == {(4, "reference",
                                       "A mandate with this reference exists already.")}
    assert _count(session, Mandate) == before


def _file_problem(app: Flask, session: Session, data: bytes | str, **kwargs) -> CsvBatch:
    merchant = make_merchant(session)
    batch = upload(session, merchant, data, **kwargs)
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert batch.status is BatchStatus.INVALID
    assert _count(session, Mandate) == 0
    return batch


def test_file_problems_are_reported_with_their_line(app: Flask, session: Session,
                                                    backend: str) -> None:
    header = ",".join(MANDATE_HEADER)
    row = ",".join(mandate_rows(1)[0])
    latin = f"{header}\r\n{row}\r\nOLD-9,CORE,2024-05-17,{iban(9)},Ren\xe9,,\r\n".encode("latin-1")
    batch = _file_problem(app, session, latin)
    assert "line 3 is not utf-8" in batch.file_error.lower()
    batch = _file_problem(app, session, "\t".join(MANDATE_HEADER) + "\r\n" + row)
    assert "tabs" in batch.file_error
    batch = _file_problem(app, session, header + ",colour\r\n" + row + ",red\r\n")
    assert _errors(session, batch) == {(1, "colour", "Unknown column.")}
    batch = _file_problem(app, session, "reference,scheme,iban\r\nOLD-1,CORE,x\r\n")
    assert {(1, "signature_date", "Missing required column."),
            (1, "debtor_name", "Missing required column.")} <= _errors(session, batch)
    app.config["BATCH_MAX_ROWS"] = 3
    batch = _file_problem(app, session, csv_text(MANDATE_HEADER, mandate_rows(4)))
    assert "at most 3 rows" in batch.file_error
    assert _errors(session, batch) == {(5, "", batch.file_error)}
    app.config["BATCH_MAX_ROWS"] = 100_000
    batch = _file_problem(app, session, b"PK\x03\x04 spreadsheet")
    assert "spreadsheet" in batch.file_error
    batch = _file_problem(app, session, header + "\r\n" + row + ",extra\r\n")
    assert _errors(session, batch) == {(2, "", "Expected 7 cells (one per column), found 8.")}
    semicolons = csv_text(MANDATE_HEADER, mandate_rows(2), delimiter=";")
    merchant = make_merchant(session)
    good = upload(session, merchant, semicolons)
    run_batch_jobs(app)
    assert _reload(session, good).status is BatchStatus.VALID


def test_an_upload_over_the_size_limit_stores_nothing(app: Flask, session: Session,
                                                      backend: str) -> None:
    import io

    import pytest

    from portal.batches.service import UploadRefused
    from portal.clock import utcnow

    merchant = make_merchant(session)
    session.commit()
    with pytest.raises(UploadRefused, match="larger than"):
        store_upload(session, merchant.id, BatchKind.MANDATES, "big.csv",
                     io.BytesIO(b"x" * (2 * 1024 * 1024 + 1)), import_requested=False,
                     actor="staff:stf_test", now=utcnow(),
                     limits=Limits(max_bytes=2 * 1024 * 1024))
    session.rollback()
    assert _count(session, CsvBatch) == 0


def test_invitations_payment_requests_and_invoices_go_through_the_api_services(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    invitations = upload(session, merchant, csv_text(
        ("customer_name", "customer_email", "send_via", "expires_in_days"),
        [("Ann One", "ann@example.org", "email", "10"), ("Bob Two", "", "none", "")]),
        BatchKind.INVITATIONS, import_requested=True)
    requests = upload(session, merchant, csv_text(
        ("amount", "description", "customer_name", "due_date"),
        [("42.50", "Membership", "Cas Drie", ""), ("7", "Fee", "Dirk Vier", "")]),
        BatchKind.PAYMENT_REQUESTS, import_requested=True)
    invoices = upload(session, merchant, csv_text(
        ("customer_name", "description", "amount_cents", "vat_rate", "number"),
        [("Eva Vijf", "Coaching", "12100", "21", "B-1"),
         ("Fay Zes", "Coaching", "5000", "", "B-2")]),
        BatchKind.INVOICES, import_requested=True)
    run_batch_jobs(app)
    for batch in (invitations, requests, invoices):
        assert _reload(session, batch).status is BatchStatus.IMPORTED, _errors(session, batch)
    assert _count(session, Invitation) == 2
    descriptions = dict(session.execute(select(PaymentRequest.description,
                                               PaymentRequest.amount_cents)).all())
    assert (descriptions["Membership"], descriptions["Fee"]) == (4250, 700)
    assert sorted(session.scalars(select(Invoice.number))) == ["B-1", "B-2"]


def test_rows_the_api_would_refuse_are_refused_with_the_apis_reasons(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    batch = upload(session, merchant, csv_text(
        ("amount", "amount_cents", "description", "customer_name", "customer_email", "send_via"),
        [("12.345", "", "Too precise", "A", "", ""),       # line 2
         ("", "-5", "Negative", "B", "", ""),              # line 3
         ("", "12.50", "Cents with decimals", "C", "", ""),  # line 4
         ("10", "", "", "D", "", ""),                      # line 5: description missing
         ("10", "", "Mail", "E", "not-an-email", ""),       # line 6
         ("10", "", "Mail", "F", "", "email"),              # line 7
         ("0,00", "", "Zero", "G", "", "")]),               # line 8
        BatchKind.PAYMENT_REQUESTS, import_requested=True)
    run_batch_jobs(app)
    found = _errors(session, batch)
    assert {line for line, _, _ in found} == {2, 3, 4, 5, 6, 7, 8}
    assert (2, "amount", "Must be an amount in euros with at most two decimals, e.g. 42.50.") \
        in found
    assert (3, "amount_cents", "Must be a positive whole number of cents, e.g. 4250.") in found
    assert (5, "description", "Required.") in found
    assert (6, "customer_email", "Must be a valid email address.") in found
    assert (7, "customer_email", "Required when send_via is email.") in found
    assert _count(session, PaymentRequest) == 0
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CsvBatchError)) == len(found)


def test_a_batch_whose_job_fails_for_good_says_so_and_imports_nothing(
        app: Flask, session: Session, backend: str, monkeypatch) -> None:
    import portal.batches.jobs
    from portal.jobs.models import Job

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(portal.batches.jobs, "import_batch", broken)
    merchant = make_merchant(session)
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(2)),
                   import_requested=True)
    run_batch_jobs(app)  # the check passes; the import's first attempt fails
    assert _reload(session, batch).status is BatchStatus.VALID
    job = session.scalars(select(Job).where(Job.kind == "batch.import")).one()
    job.attempts = job.max_attempts - 1  # its next attempt is its last
    job.run_at = job.created_at
    session.commit()
    run_batch_jobs(app)
    batch = _reload(session, batch)
    assert batch.status is BatchStatus.INVALID and "could not be processed" in batch.file_error
    assert batch.import_key is None and _count(session, Mandate) == 0


def test_invoice_numbers_are_unique_in_the_file_and_against_the_merchants_invoices(
        app: Flask, session: Session, backend: str) -> None:
    merchant = make_merchant(session)
    header = ("customer_name", "description", "amount", "number", "customer_id")
    first = upload(session, merchant, csv_text(header, [("Ann", "Coaching", "10.00", "A-1", "")]),
                   BatchKind.INVOICES, import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, first).status is BatchStatus.IMPORTED
    batch = upload(session, merchant, csv_text(header, [
        ("Bob", "Coaching", "10", "A-1", ""),          # line 2: taken by the first batch
        ("Cas", "Coaching", "10", "A-2", ""),
        ("Dirk", "Coaching", "10", "A-2", ""),         # line 4: repeats line 3
        ("", "Coaching", "10", "", "cus_nobody12345"),  # line 5: no such customer
        ("Eva", "Coaching", "", "", ""),               # line 6: no amount
    ]), BatchKind.INVOICES, import_requested=True)
    run_batch_jobs(app)
    found = _errors(session, batch)
    assert (2, "number", "An invoice with this number exists already.") in found
    assert (4, "number", "Repeats line 3 of this file.") in found
    assert (5, "customer_id", "No customer with this id.") in found
    assert (6, "amount", "Required (or amount_cents).") in found
    assert _reload(session, batch).status is BatchStatus.INVALID
    assert _count(session, Invoice) == 1


def test_imported_mandates_are_found_by_the_console_search(
        app: Flask, session: Session, backend: str) -> None:
    """The import writes through the models, so the search keys follow: reference without
    separators, name words, IBAN (through its hash) and its last four characters."""
    from portal.console.roles import Scope
    from portal.console.search import SearchRequest, search_mandates

    merchant = make_merchant(session)
    batch = upload(session, merchant, csv_text(MANDATE_HEADER, mandate_rows(3)),
                   import_requested=True)
    run_batch_jobs(app)
    assert _reload(session, batch).status is BatchStatus.IMPORTED
    wanted = session.scalars(select(Mandate).where(Mandate.reference == "OLD-000002")).one()
    for query in ("OLD000002", "old-000002", "Debtor 2", iban(2), iban(2)[-4:]):
        found = search_mandates(session, SearchRequest(query=query), Scope(None)).mandates
        assert wanted in found, query
