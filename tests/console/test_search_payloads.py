"""The shared corpus of SQL injection and XSS payloads through the search box and its filters:
nothing changes (no row but the audit of the search itself), no error page, and whatever is
echoed back is escaped."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.console.models import StaffUser
from portal.mandates.models import Customer, CustomerSearchTerm, Invitation, Mandate
from portal.merchants.models import Merchant
from tests.console.payloads import PAYLOADS, UNESCAPED_MARKERS
from tests.factories import make_invitation

TABLES = (Merchant, Customer, Mandate, Invitation, CustomerSearchTerm, StaffUser)


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in TABLES}


def _snapshot(session: Session) -> list[tuple]:
    return sorted(session.execute(select(Mandate.public_id, Mandate.status, Mandate.reference,
                                         Mandate.merchant_id)).all())


def test_payloads_through_the_search_change_nothing_and_come_back_escaped(
        console: FlaskClient, session: Session) -> None:
    make_invitation(session)
    session.commit()
    before, rows = _counts(session), _snapshot(session)
    searches = 0
    for payload in PAYLOADS:
        for params, status in (({"q": payload}, 200),
                               ({"q": payload, "status": payload}, 400),
                               ({"q": payload, "merchant": payload, "from": payload}, 400)):
            response = console.get("/console/", query_string=params)
            assert response.status_code == status, (payload, params)
            page = response.get_data(as_text=True)
            for marker in UNESCAPED_MARKERS:
                assert marker not in page, (payload, params)
            shown = payload.replace("\x00", "").strip()
            if shown:
                assert f'value="{escape(shown)}"' in page, (payload, params)
            searches += status == 200
    assert _counts(session) == before
    assert _snapshot(session) == rows
    audited = session.scalars(select(AuditEvent.data).where(
        AuditEvent.action == "console.search")).all()
    # Every search that ran is audited (a payload reduced to nothing searches nothing).
    assert len(audited) == sum(1 for p in PAYLOADS if p.replace("\x00", "").strip())
    assert searches == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS[:4])
def test_a_payload_filter_names_the_field_it_refused(console: FlaskClient,
                                                     payload: str) -> None:
    page = console.get("/console/", query_string={"scheme": payload}).get_data(as_text=True)
    assert 'id="search-error"' in page and "scheme: not one of the choices" in page


def test_an_iban_with_a_typo_is_kept_masked_in_the_search_trail(console: FlaskClient,
                                                                 session: Session) -> None:
    console.get("/console/", query_string={"q": "NL91 ABNA 0417 1643 01"})  # check digits off
    session.expire_all()
    [data] = session.scalars(select(AuditEvent.data).where(
        AuditEvent.action == "console.search")).all()
    assert data["query"] == "NL91 •••• •••• ••43 01"
    assert "0417" not in str(data)
