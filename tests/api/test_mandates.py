"""Mandates through the API: list, filter, page through, read, PDF, revoke."""

from __future__ import annotations

import hashlib
import io

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy.orm import Session

from portal.jobs.service import run_due_jobs
from portal.mandates.models import Scheme
from tests.api.conftest import Caller, invite, sign_and_activate
from tests.factories import make_invitation


def _page_through(api: Caller, query: str = "", limit: int = 10,
                  use_cursor: bool = False) -> list[str]:
    seen: list[str] = []
    url = f"/api/v1/mandates?limit={limit}{query}"
    while True:
        body = api.get(url).get_json()
        assert body["object"] == "list" and len(body["data"]) <= limit
        seen += [m["id"] for m in body["data"]]
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return seen
        if use_cursor:
            url = f"/api/v1/mandates?limit={limit}{query}&cursor={body['next_cursor']}"
        else:
            url = f"/api/v1/mandates?limit={limit}{query}&starting_after={seen[-1]}"


@pytest.mark.parametrize("use_cursor", [False, True], ids=["starting_after", "cursor"])
def test_paging_through_25_mandates_gives_each_once_newest_first(
        api: Caller, session: Session, use_cursor: bool) -> None:
    created = [make_invitation(session, api.merchant).mandate.public_id for _ in range(25)]
    session.commit()

    seen = _page_through(api, limit=10, use_cursor=use_cursor)

    assert seen == list(reversed(created))
    default = api.get("/api/v1/mandates").get_json()
    assert len(default["data"]) == 20 and default["has_more"] is True


def test_filters_by_status_scheme_and_external_reference(
        app: Flask, api: Caller, session: Session) -> None:
    b2b_mandate = make_invitation(session, api.merchant, external_reference="ERP-1").mandate
    b2b_mandate.scheme = Scheme.B2B  # as bank signing will make them; invitations refuse B2B
    b2b = b2b_mandate.public_id
    core = make_invitation(session, api.merchant, external_reference="ERP-2").mandate.public_id
    session.commit()
    active = sign_and_activate(app, session, invite(api, external_reference="ERP-2")["id"])

    def ids(query: str) -> list[str]:
        return [m["id"] for m in api.get(f"/api/v1/mandates?{query}").get_json()["data"]]

    assert ids("scheme=B2B") == [b2b]
    assert ids("external_reference=ERP-2") == [active.public_id, core]
    assert ids("status=active") == [active.public_id]
    assert ids("status=invited&scheme=CORE") == [core]
    assert ids("external_reference=nobody") == []


def test_get_mandate_shows_the_signed_details(
        app: Flask, api: Caller, session: Session) -> None:
    created = invite(api, external_reference="ERP-9")
    sign_and_activate(app, session, created["id"])

    body = api.get(f"/api/v1/mandates/{created['mandate']}").get_json()

    assert body["object"] == "mandate" and body["status"] == "active"
    assert body["customer"] == {**created["customer"], "email": "sam@example.org"}
    assert body["debtor_name"] == "Sam de Vries" and body["bic"]
    assert body["iban_masked"].startswith("NL") and "0417" not in body["iban_masked"]
    assert body["signing_method"] == "payment_verification"
    assert body["signed_at"].endswith("Z") and body["created_at"].endswith("Z")
    assert body["reference"] and body["scheme"] == "CORE"


def test_pdf_is_not_applicable_then_pending_then_ready(
        app: Flask, api: Caller, session: Session) -> None:
    created = invite(api)
    path = f"/api/v1/mandates/{created['mandate']}"
    assert api.get(path).get_json()["pdf"] == {"status": "not_applicable", "url": None,
                                                "sha256": None}
    unsigned = api.get(f"{path}/pdf")
    assert unsigned.status_code == 409
    assert unsigned.get_json()["type"].endswith("/pdf-not-applicable")

    sign_and_activate(app, session, created["id"])
    assert api.get(path).get_json()["pdf"]["status"] == "pending"
    pending = api.get(f"{path}/pdf")
    assert pending.status_code == 409 and pending.headers["Retry-After"] == "5"
    assert pending.get_json()["type"].endswith("/pdf-pending")

    run_due_jobs(app)
    pdf = api.get(path).get_json()["pdf"]
    assert pdf["status"] == "ready" and pdf["url"] == f"http://localhost{path}/pdf"
    download = api.get(f"{path}/pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert hashlib.sha256(download.data).hexdigest() == pdf["sha256"]
    assert "attachment" in download.headers["Content-Disposition"]
    mandate = api.get(path).get_json()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(download.data)).pages)
    assert mandate["reference"] in text


def test_revoke_an_active_mandate(app: Flask, api: Caller, session: Session) -> None:
    created = invite(api)
    sign_and_activate(app, session, created["id"])

    response = api.post(f"/api/v1/mandates/{created['mandate']}/revoke",
                        {"reason": "Contract ended"})

    assert response.status_code == 200
    assert response.get_json()["status"] == "revoked"
    events = api.get("/api/v1/events?type=mandate.revoked").get_json()["data"]
    assert [e["data"]["mandate"] for e in events] == [created["mandate"]]


def test_revoking_a_mandate_that_is_not_active_is_409_invalid_state(api: Caller) -> None:
    created = invite(api)
    response = api.post(f"/api/v1/mandates/{created['mandate']}/revoke")
    assert response.status_code == 409
    body = response.get_json()
    assert body["type"].endswith("/invalid-state")
    assert body["detail"] == "Cannot revoke a mandate that is invited."


def test_unknown_and_malformed_ids_are_404(api: Caller) -> None:
    for path in ("/api/v1/mandates/md_doesnotexist00000000", "/api/v1/mandates/inv_abcdefghijkl",
                 "/api/v1/mandates/%00", "/api/v1/invitations/x", "/api/v1/events/evt_nope"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
