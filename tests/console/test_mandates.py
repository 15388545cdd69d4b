"""Finding a signed mandate and reading its whole record; every look is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Mandate, MandateStatus
from tests.console.conftest import Staff
from tests.factories import make_invitation
from tests.sign.driver import Journey

IBAN = "NL91ABNA0417164300"


@pytest.fixture
def signed(journey: Journey) -> Mandate:
    journey.follow(journey.pay("paid"))
    mandate = journey.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    return mandate


def found(console: FlaskClient, query: str) -> list[str]:
    """Mandate ids linked from the result table."""
    page = console.get("/console/", query_string={"q": query})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return sorted({part.split('"')[0] for part in text.split('href="/console/mandates/')[1:]})


def test_search_by_each_key(console: FlaskClient, journey: Journey, signed: Mandate,
                            session: Session) -> None:
    other = make_invitation(session)  # another merchant's mandate, never in these results
    session.commit()
    assert other.mandate.public_id != signed.public_id
    queries = [signed.reference, signed.reference.lower(), signed.public_id,
               journey.invitation.public_id, "sam@example.org", "SAM@example.org",
               "nl91 abna 0417 1643 00", IBAN, f"IBAN {IBAN}"]
    for query in queries:
        found_ids = found(console, query)
        assert signed.public_id in found_ids, query
        assert other.mandate.public_id not in found_ids or query.lower().startswith("sam@"), query


def test_each_search_is_written_to_the_audit_trail_without_a_clear_iban(
        console: FlaskClient, signed: Mandate, session: Session, staff: Staff) -> None:
    found(console, signed.reference)
    found(console, f"IBAN {IBAN}")
    found(console, "nothing-like-this")
    session.expire_all()
    searches = session.scalars(select(AuditEvent).where(AuditEvent.action == "console.search")
                               .order_by(AuditEvent.seq)).all()
    assert [s.data["query"] for s in searches] == [
        signed.reference, "NL91 •••• •••• ••43 00", "nothing-like-this"]
    assert [s.data["found"] for s in searches] == [[signed.public_id], [signed.public_id], []]
    assert all(s.actor == f"staff:{staff.user.public_id}" and s.data["ip"] == "127.0.0.1"
               for s in searches)
    assert searches[1].data["iban_hash"] == signed.iban_hash
    assert all(IBAN not in json.dumps(s.data) for s in searches)


def test_iban_search_spans_merchants(console: FlaskClient, journey: Journey, signed: Mandate,
                                     session: Session) -> None:
    second = Journey(journey.app, journey.app.test_client(), session, make_invitation(session))
    session.commit()
    second.follow(second.pay("paid"))
    assert second.mandate().merchant_id != signed.merchant_id
    assert found(console, IBAN) == sorted([signed.public_id, second.mandate().public_id])


def test_search_results_show_the_mandate(console: FlaskClient, signed: Mandate) -> None:
    page = console.get("/console/", query_string={"q": signed.public_id}).get_data(as_text=True)
    assert signed.reference in page and signed.merchant.display_name in page
    assert "active" in page and "CORE" in page and signed.iban_masked in page
    assert IBAN not in page and "0417 1643" not in page


BAD_QUERIES = ["", "   ", "nothing-like-this", "md_", "md_!!!!!!!!!!!!", "inv_x", "@",
               "NL00 0000", "x" * 5000, "' OR 1=1 --", "\u0000\ufffd", "NL91ABNA0417164301",
               "%", "_"]


def test_bad_input_finds_nothing_and_never_fails(console: FlaskClient, signed: Mandate) -> None:
    # One signed mandate for every query (each signing is a whole customer journey).
    for query in BAD_QUERIES:
        response = console.get("/console/", query_string={"q": query})
        assert response.status_code == 200, query
        assert signed.public_id not in response.get_data(as_text=True), query


def test_detail_shows_the_whole_record(app: Flask, console: FlaskClient, journey: Journey,
                                       signed: Mandate, session: Session) -> None:
    run_due_jobs(app)
    response = console.get(f"/console/mandates/{signed.public_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert signed.reference in page and signed.merchant.legal_name in page
    assert "Sam de Vries" in page and signed.iban_masked in page
    assert IBAN not in page and "0417 1643" not in page
    assert 'id="seal-report">Seal verified' in page  # intact, sealed by this portal
    assert f"/console/mandates/{signed.public_id}/pdf" in page
    pretty = f'"consent_at": {json.dumps(signed.evidence["consent_at"])},\n'
    assert str(escape(pretty)) in page  # the evidence, pretty-printed
    trail = session.scalars(select(AuditEvent).where(AuditEvent.subject == signed.public_id)
                            .order_by(AuditEvent.seq)).all()
    assert len(trail) >= 3
    positions = [page.index(f"<td>{event.seq}</td>") for event in trail]
    assert positions == sorted(positions)  # the audit trail, oldest first
    for event in trail:
        assert event.action in page
    assert "console.view_mandate" in page  # this very look is on it
    assert "mandate.active" in page  # the webhook event
    assert 'id="payments"' in page and "paid" in page


def test_detail_before_the_pdf_exists(console: FlaskClient, signed: Mandate) -> None:
    page = console.get(f"/console/mandates/{signed.public_id}").get_data(as_text=True)
    assert "No PDF yet" in page
    assert console.get(f"/console/mandates/{signed.public_id}/pdf").status_code == 404


def test_detail_of_a_tampered_pdf_says_so(app: Flask, console: FlaskClient, signed: Mandate,
                                          session: Session) -> None:
    run_due_jobs(app)
    [path] = [p for p in (Path(app.instance_path) / "mandates").rglob("*.pdf")]
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    page = console.get(f"/console/mandates/{signed.public_id}").get_data(as_text=True)
    assert "Seal NOT verified" in page


def test_unknown_mandates_are_404(console: FlaskClient) -> None:
    for path in ("/console/mandates/md_0123456789abcdefghij", "/console/mandates/garbage",
                 "/console/mandates/inv_0123456789abcdefghij/pdf"):
        assert console.get(path).status_code == 404, path


def test_pdf_download(app: Flask, console: FlaskClient, signed: Mandate) -> None:
    run_due_jobs(app)
    response = console.get(f"/console/mandates/{signed.public_id}/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"


def test_support_access_is_audited(app: Flask, console: FlaskClient, staff: Staff,
                                   signed: Mandate, session: Session) -> None:
    run_due_jobs(app)
    console.get(f"/console/mandates/{signed.public_id}")
    console.get(f"/console/mandates/{signed.public_id}/pdf")
    session.expire_all()
    events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("console.%"),
                                                      AuditEvent.subject == signed.public_id)
                             .order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["console.view_mandate", "console.download_pdf"]
    for event in events:
        assert event.actor == f"staff:{staff.user.public_id}"
        assert event.merchant_id == signed.merchant_id


def test_console_pages_carry_security_headers(client: FlaskClient, console: FlaskClient,
                                              signed: Mandate) -> None:
    for browser, path in ((client, "/console/login"), (console, "/console/"),
                          (console, f"/console/mandates/{signed.public_id}")):
        response = browser.get(path)
        assert response.status_code == 200, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert b"<script" not in response.data and b"style=" not in response.data
        assert b"<style" not in response.data


def test_audit_data_is_shown_as_people_read_it(console: FlaskClient, signed: Mandate) -> None:
    page = console.get(f"/console/mandates/{signed.public_id}").get_data(as_text=True)
    assert "\\u2022" not in page and "NL91 ••••" in page  # masked IBANs, not escapes
