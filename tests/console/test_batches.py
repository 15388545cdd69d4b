"""CSV batches in the console, on both databases: upload, dry run, import, the error report
and the templates; clear 422 pages for a missing, wrong or too large file; support sees but
does not upload; another merchant's batch answers 404; the corpus of SQL injection, XSS and
formula payloads through the import changes nothing unintended and comes back escaped, and
every CSV the pages produce makes formulas inert."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.batches.models import CsvBatch
from portal.console.models import StaffRole
from portal.mandates.models import Customer, Mandate
from portal.merchants.models import Merchant
from tests.batches.conftest import MANDATE_HEADER, csv_text, iban, mandate_rows, run_batch_jobs
from tests.console.conftest import log_in, make_staff
from tests.console.payloads import CSV_FORMULAS, PAYLOADS, UNESCAPED_MARKERS, XSS
from tests.factories import make_merchant
from tests.sign.driver import csrf_token


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session)
    session.commit()
    return merchant


def _client(app: Flask, session: Session, role: StaffRole, merchants: list[Merchant],
            email: str) -> FlaskClient:
    staff = make_staff(session, email, role=role, merchants=merchants)
    client = app.test_client()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    return client


@pytest.fixture
def admin(app: Flask, session: Session, merchant: Merchant) -> FlaskClient:
    return _client(app, session, StaffRole.MERCHANT_ADMIN, [merchant], "admin@shop.example")


def _upload(client: FlaskClient, merchant: Merchant, data: bytes | None, *,
            kind: str = "mandates", import_now: bool = False, filename: str = "file.csv",
            token: str | None = None):
    base = f"/console/merchants/{merchant.public_id}/batches"
    form: dict = {"csrf_token": token if token is not None else csrf_token(client.get(base)),
                  "kind": kind}
    if import_now:
        form["import_now"] = "y"
    if data is not None:
        form["file"] = (io.BytesIO(data), filename)
    return client.post(base, data=form, content_type="multipart/form-data")


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def _follow(client: FlaskClient, app: Flask, response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    run_batch_jobs(app)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_mixed_file_shows_each_bad_row_and_imports_nothing(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    rows = mandate_rows(2) + [["OLD-X", "SEPA", "2024-05-17", iban(9), "Sam", "", ""],
                              ["OLD-Y", "CORE", "2024-02-30", "NL00", "Kim", "", ""]]
    page = _follow(admin, app, _upload(admin, merchant, csv_text(MANDATE_HEADER, rows).encode(),
                                       import_now=True))
    assert 'id="batch-invalid"' in page and "Nothing was imported" in page
    table = page.split('id="batch-error-table"')[1]
    assert "<td>4</td><td>scheme</td>" in table
    assert "<td>5</td><td>signature_date</td>" in table and "<td>5</td><td>iban</td>" in table
    assert _count(session, Mandate) == 0
    batch = session.scalars(select(CsvBatch)).one()
    report = admin.get(f"/console/merchants/{merchant.public_id}/batches/{batch.public_id}"
                       "/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["line", "column", "value", "reason"]
    assert ["4", "scheme", "SEPA", "Unknown scheme: use CORE or B2B."] in lines
    assert {row[0] for row in lines[1:]} == {"4", "5"}


def test_a_dry_run_then_import_then_the_same_file_again(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    data = csv_text(MANDATE_HEADER, mandate_rows(3)).encode()
    page = _follow(admin, app, _upload(admin, merchant, data))
    assert 'id="batch-valid"' in page and _count(session, Mandate) == 0
    batch = session.scalars(select(CsvBatch)).one()
    path = f"/console/merchants/{merchant.public_id}/batches/{batch.public_id}"
    response = admin.post(f"{path}/import", data={"csrf_token": csrf_token(admin.get(path))})
    page = _follow(admin, app, response)
    assert 'id="batch-imported"' in page and _count(session, Mandate) == 3
    again = _upload(admin, merchant, data, import_now=True)
    assert again.headers["Location"].endswith(batch.public_id)
    page = _follow(admin, app, again)
    assert "nothing was imported again" in page
    assert _count(session, Mandate) == 3 and _count(session, CsvBatch) == 1


def test_the_progress_page_refreshes_while_the_batch_runs(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    response = _upload(admin, merchant, csv_text(MANDATE_HEADER, mandate_rows(2)).encode())
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page and 'id="batch-running"' in page
    run_batch_jobs(app)
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "http-equiv" not in page and ">2</dd>" in page


def test_the_page_shows_the_rows_an_import_has_written_while_its_transaction_is_open(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    """What the import tells after a step (on SQLite through the file beside the database, on
    PostgreSQL committed on the side) is what the page shows."""
    from portal.batches.lifecycle import move_batch
    from portal.batches.models import BatchStatus
    from portal.batches.progress import import_progress
    from portal.clock import utcnow

    response = _upload(admin, merchant, csv_text(MANDATE_HEADER, mandate_rows(7)).encode())
    run_batch_jobs(app)
    batch = session.scalars(select(CsvBatch)).one()
    move_batch(session, batch, BatchStatus.IMPORTING, actor="staff:stf_test", now=utcnow())
    batch.rows_done = 0  # as the import starts
    session.commit()
    progress = import_progress(session, batch)
    try:
        progress(4)
        page = admin.get(response.headers["Location"]).get_data(as_text=True)
        assert "4 of 7 written" in page and 'id="batch-running"' in page
    finally:
        progress.close()
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert ("4 of 7 written" in page) is (backend == "postgresql")  # the file went with it


@pytest.mark.parametrize(("data", "filename", "message"), [
    (None, "", "Choose a CSV file"),
    (b"%PDF-1.7 not a csv", "file.csv", "not a text file"),
    (b"PK\x03\x04 zipped", "file.csv", "spreadsheet"),
    (b"reference\r\n", "mandates.xlsx", "Upload a .csv file"),
    (b"", "empty.csv", "The file is empty"),
])
def test_a_missing_or_wrong_file_gets_a_422_page(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant, data, filename,
        message: str, backend: str) -> None:
    response = _upload(admin, merchant, data, filename=filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(session, CsvBatch) == 0


def test_a_file_over_the_size_limit_gets_a_422_page(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    app.config["BATCH_MAX_BYTES"] = 3 * 1024 * 1024  # over the app's 2 MiB body limit, too
    big = csv_text(MANDATE_HEADER, mandate_rows(1)).encode() + b"x" * (3 * 1024 * 1024)
    response = _upload(admin, merchant, big)
    assert response.status_code == 422
    assert "larger than 3 MiB" in response.get_data(as_text=True)
    assert _count(session, CsvBatch) == 0
    fits = csv_text(MANDATE_HEADER, mandate_rows(1)).encode() + b"\r\n" * (1024 * 1024 + 7)
    assert _upload(admin, merchant, fits).status_code == 303  # above 2 MiB, within the limit


def test_a_file_over_the_row_limit_gets_a_422_page(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    app.config["BATCH_MAX_ROWS"] = 3
    response = _upload(admin, merchant, csv_text(MANDATE_HEADER, mandate_rows(4)).encode())
    assert response.status_code == 422
    assert "at most 3 rows" in response.get_data(as_text=True)
    assert _count(session, CsvBatch) == 0
    quoted = csv_text(("reference", "scheme", "signature_date", "iban", "debtor_name",
                       "debtor_address_line"),
                      [[f"OLD-{n}", "CORE", "2024-05-17", iban(n), "Sam", '"Line 1\nLine 2"']
                       for n in (1, 2, 3)])
    assert _upload(admin, merchant, quoted.encode()).status_code == 303  # 7 lines, 3 rows


def test_an_upload_without_the_csrf_token_is_refused(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    data = csv_text(MANDATE_HEADER, mandate_rows(1)).encode()
    assert _upload(admin, merchant, data, token="").status_code == 400
    assert _count(session, CsvBatch) == 0


def test_support_sees_batches_but_uploads_nothing_and_other_merchants_see_none(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    response = _upload(admin, merchant, csv_text(MANDATE_HEADER, mandate_rows(1)).encode())
    run_batch_jobs(app)
    path = response.headers["Location"]
    support = _client(app, session, StaffRole.SUPPORT, [merchant], "support@shop.example")
    assert support.get(path).status_code == 200
    assert support.get(f"{path}/errors.csv").status_code == 200
    page = support.get(f"/console/merchants/{merchant.public_id}/batches").get_data(as_text=True)
    assert "Upload a file" not in page and "file.csv" in page
    token = csrf_token(support.get(path))
    assert support.post(f"{path}/import", data={"csrf_token": token}).status_code == 403
    assert _upload(support, merchant, b"reference\r\n", token=token).status_code == 403
    other = make_merchant(session)
    session.commit()
    stranger = _client(app, session, StaffRole.MERCHANT_ADMIN, [other], "admin@other.example")
    foreign = path.replace(merchant.public_id, other.public_id)
    assert stranger.get(foreign).status_code == 404
    assert stranger.get(path).status_code == 404


def test_templates_have_every_column_and_an_example(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    from portal.batches.kinds import KINDS

    for kind, spec in KINDS.items():
        response = admin.get(f"/console/merchants/{merchant.public_id}/batches/templates/"
                             f"{kind.value}.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert rows[0] == list(spec.names) and len(rows) == 2
    assert admin.get(f"/console/merchants/{merchant.public_id}/batches/templates/"
                     "nothing.csv").status_code == 404


def test_the_mandate_template_imports_as_it_is(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    template = admin.get(f"/console/merchants/{merchant.public_id}/batches/templates/"
                         "mandates.csv").get_data()
    page = _follow(admin, app, _upload(admin, merchant, template, import_now=True))
    assert 'id="batch-imported"' in page, page
    mandate = session.scalars(select(Mandate)).one()
    assert mandate.reference == "OLD-000123" and mandate.debtor_city == "Utrecht"


def test_hostile_payloads_through_the_import_change_nothing_unintended_and_come_back_escaped(
        app: Flask, session: Session, admin: FlaskClient, merchant: Merchant,
        backend: str) -> None:
    other = make_merchant(session)
    session.commit()
    header = ("reference", "scheme", "signature_date", "iban", "debtor_name",
              "debtor_address_line")
    payloads = PAYLOADS + CSV_FORMULAS
    storable = [payload for payload in payloads if "\x00" not in payload]  # NUL: refused
    good = [[f"OLD-P{n}", "CORE", "2024-05-17", iban(100 + n), payload, payload]
            for n, payload in enumerate(storable)]
    # The same payloads where a reference, a scheme, a date and an IBAN go: each row refused.
    bad = [[payload, payload, payload, payload, "Sam", ""] for payload in payloads]

    def quoted(rows: list[list[str]]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([list(header), *rows])
        return out.getvalue().encode()

    page = _follow(admin, app, _upload(admin, merchant, quoted(bad), import_now=True))
    assert 'id="batch-invalid"' in page
    for marker in UNESCAPED_MARKERS:
        assert marker not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert _count(session, Mandate) == 0 and _count(session, Customer) == 0
    batch = session.scalars(select(CsvBatch)).one()
    report = admin.get(f"/console/merchants/{merchant.public_id}/batches/{batch.public_id}"
                       "/errors.csv").get_data(as_text=True)
    for cell in (cell for row in csv.reader(io.StringIO(report.lstrip("\ufeff")))
                 for cell in row):
        assert not cell.startswith(("=", "+", "-", "@")), cell
    assert "'=HYPERLINK" in report and "'@SUM(1+1)" in report

    # As names and addresses they are data: stored as given, for this merchant only, and shown
    # escaped.
    page = _follow(admin, app, _upload(admin, merchant, quoted(good), import_now=True))
    assert 'id="batch-imported"' in page, page
    session.expire_all()
    names = set(session.scalars(select(Mandate.debtor_name).where(
        Mandate.merchant_id == merchant.id)))
    assert set(storable) <= names
    assert session.scalar(select(func.count()).select_from(Mandate).where(
        Mandate.merchant_id == other.id)) == 0
    assert _count(session, Merchant) == 2
    for payload in XSS:
        found = admin.get("/console/", query_string={"q": f"OLD-P{storable.index(payload)}"})
        assert found.status_code == 200
        for marker in UNESCAPED_MARKERS:
            assert marker not in found.get_data(as_text=True)
