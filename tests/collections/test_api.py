"""The collections API: schedule (and be refused), list, cancel; export batches and download the
same bytes again; import bank reports from the body; every answer as documented (both
databases). Scopes and merchant isolation follow the rest of the API."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.models import DebitAttempt
from portal.collections.service import configure_collections
from portal.mandates.models import Mandate
from portal.merchants.models import Merchant
from tests.api.conftest import Caller, make_caller
from tests.collections.conftest import CREDITOR_IBAN, Clock, active_mandate
from tests.collections.test_returns_import import fill


def caller_with_mandate(app: Flask, session: Session, scopes: str | None = None
                        ) -> tuple[Caller, Mandate]:
    caller = make_caller(app, session, **({"scopes": scopes} if scopes else {}))
    configure_collections(session, caller.merchant.id, actor="test",
                          creditor_iban=CREDITOR_IBAN, creditor_bic="ABNANL2A")
    mandate = active_mandate(session, session.get(Merchant, caller.merchant.id))
    session.commit()
    return caller.authorize(), mandate


def schedule(caller: Caller, mandate: Mandate, **body) -> dict:
    response = caller.post("/api/v1/debits", {"mandate": mandate.public_id, "amount": 2500,
                                              "description": "Membership April", **body})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_schedule_read_list_and_cancel_a_debit(app: Flask, session: Session,
                                               clock: Clock) -> None:
    api, mandate = caller_with_mandate(app, session)
    debit = schedule(api, mandate, invoice_number="2026-0042", collection_date="2026-04-10")
    assert (debit["status"], debit["amount"], debit["collection_date"], debit["sequence_type"],
            debit["invoice_number"], debit["route"]) == (
        "scheduled", 2500, "2026-04-10", "FRST", "2026-0042", "bank")
    assert api.get(f"/api/v1/debits/{debit['id']}").get_json() == debit
    listed = api.get("/api/v1/debits", query_string={"mandate": mandate.public_id}).get_json()
    assert [d["id"] for d in listed["data"]] == [debit["id"]]
    assert api.get("/api/v1/debits", query_string={"status": "collected"}).get_json()[
        "data"] == []
    cancelled = api.post(f"/api/v1/debits/{debit['id']}/cancel", {"reason": "paid cash"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = api.post(f"/api/v1/debits/{debit['id']}/cancel", {})
    assert again.status_code == 409 and again.get_json()["type"].endswith("invalid-state")


def test_a_refused_debit_says_why(app: Flask, session: Session, clock: Clock) -> None:
    api, mandate = caller_with_mandate(app, session)
    from portal.mandates.lifecycle import MandateAction, apply_transition

    apply_transition(session, mandate, MandateAction.REVOKE, actor="test", now=clock.now)
    session.commit()
    response = api.post("/api/v1/debits", {"mandate": mandate.public_id, "amount": 100,
                                           "description": "x"})
    problem = response.get_json()
    assert response.status_code == 422 and problem["type"].endswith("debit-refused")
    assert problem["errors"][0]["message"].startswith("mandate_revoked:")
    unknown = api.post("/api/v1/debits", {"mandate": "md_doesnotexist000", "amount": 100,
                                          "description": "x"})
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "mandate"
    invalid = api.post("/api/v1/debits", {"mandate": mandate.public_id, "amount": 0,
                                          "description": "x", "final": "yes",
                                          "collection_date": "2026-02-30"})
    assert sorted(e["field"] for e in invalid.get_json()["errors"]) == [
        "amount", "collection_date", "final"]


def test_another_merchant_sees_none_of_it_and_scopes_are_enforced(
        app: Flask, session: Session, clock: Clock) -> None:
    api, mandate = caller_with_mandate(app, session)
    debit = schedule(api, mandate)
    other, _ = caller_with_mandate(app, session)
    assert other.get(f"/api/v1/debits/{debit['id']}").status_code == 404
    refused = other.post("/api/v1/debits", {"mandate": mandate.public_id, "amount": 100,
                                            "description": "x"})
    assert refused.status_code == 422  # another merchant's mandate is not found
    reader, _ = caller_with_mandate(app, session, scopes="payments:read")
    assert reader.post("/api/v1/batches", {}).status_code == 403
    assert reader.get("/api/v1/debits").status_code == 200


def test_export_once_and_download_the_same_bytes_again(
        app: Flask, session: Session, clock: Clock) -> None:
    api, mandate = caller_with_mandate(app, session)
    debit = schedule(api, mandate)
    clock.advance(days=5)
    api.authorize()  # tokens live an hour on this clock too
    exported = api.post("/api/v1/batches", {})
    assert exported.status_code == 201
    [batch] = exported.get_json()["data"]
    assert (batch["transaction_count"], batch["control_sum"], batch["scheme"]) == (1, 2500,
                                                                                    "CORE")
    nothing = api.post("/api/v1/batches", {})
    assert nothing.status_code == 200 and nothing.get_json()["data"] == []
    first = api.get(f"/api/v1/batches/{batch['id']}/file")
    second = api.get(f"/api/v1/batches/{batch['id']}/file")
    assert first.status_code == 200 and first.mimetype == "application/xml"
    assert first.data == second.data
    assert hashlib.sha256(first.data).hexdigest() == batch["file"]["sha256"] == \
        first.headers["X-Content-SHA256"]
    assert b"<EndToEndId>" + api.get(f"/api/v1/debits/{debit['id']}").get_json()[
        "end_to_end_id"].encode() in first.data
    assert api.get(f"/api/v1/batches/{batch['id']}/file",
                   headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert api.get("/api/v1/batches").get_json()["data"][0]["id"] == batch["id"]
    assert api.get(f"/api/v1/debits/{debit['id']}").get_json()["batch"] == batch["id"]


def test_import_a_bank_report_through_the_api(app: Flask, session: Session, clock: Clock,
                                              tmp_path: Path) -> None:
    api, mandate = caller_with_mandate(app, session)
    debit = schedule(api, mandate)
    clock.advance(days=5)
    api.authorize()  # tokens live an hour on this clock too
    api.post("/api/v1/batches", {})
    attempt = session.scalar(select(DebitAttempt))
    body = fill("camt054-collected.xml", [attempt], tmp_path).read_bytes()
    response = api.post("/api/v1/returns", data=body, content_type="application/xml")
    assert response.status_code == 201, response.get_data(as_text=True)
    report = response.get_json()
    assert report["format"] == "camt.054" and report["counts"]["collected"] == 1
    assert api.get(f"/api/v1/debits/{debit['id']}").get_json()["status"] == "collected"
    again = api.post("/api/v1/returns", data=body, content_type="application/xml")
    assert again.status_code == 200 and again.get_json()["id"] == report["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api.get(f"/api/v1/returns/{report['id']}").get_json() == report
    assert [r["id"] for r in api.get("/api/v1/returns").get_json()["data"]] == [report["id"]]


def test_a_report_naming_unknown_debits_is_refused_line_by_line(
        app: Flask, session: Session, clock: Clock) -> None:
    api, _mandate = caller_with_mandate(app, session)
    csv = b"end_to_end_id,status,reason_code,reason_text\nNOPE-1,returned,AM04,\n" \
          b"NOPE-2,collected,,\n"
    response = api.post("/api/v1/returns", data=csv, content_type="text/csv")
    problem = response.get_json()
    assert response.status_code == 422 and problem["type"].endswith("unknown-debits")
    assert problem["errors"] == [
        {"field": "line 2", "message": "NOPE-1: no debit with this EndToEndId"},
        {"field": "line 3", "message": "NOPE-2: no debit with this EndToEndId"}]
    assert api.get("/api/v1/returns").get_json()["data"] == []
    for body, kind in ((b"", "text/csv"), (b"<x/>", "application/xml"),
                       (b"hello", "text/csv")):
        bad = api.post("/api/v1/returns", data=body, content_type=kind)
        assert bad.status_code == 422 and bad.get_json()["type"].endswith("unreadable-report")
    assert api.post("/api/v1/returns", data=b"{}", content_type="application/json"
                    ).status_code == 415


def test_an_upload_over_the_limit_is_refused(app: Flask, session: Session,
                                             clock: Clock) -> None:
    api, _mandate = caller_with_mandate(app, session)
    app.config["COLLECTION_MAX_REPORT_BYTES"] = 1000
    response = api.post("/api/v1/returns", data=b"x" * 1001, content_type="text/csv")
    assert response.status_code == 413
