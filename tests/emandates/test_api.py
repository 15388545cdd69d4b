"""Bank signing in the merchant API: signing methods on invitations, the signing method,
validation reference and bank outcome on mandates, one webhook event per outcome, and
amendments and B2B cancellations through the sandbox bank over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.openapi import build_spec
from portal.db import state
from portal.events.models import Event
from portal.mandates.models import Invitation, MandateStatus
from portal.mandates.service import debtor_iban
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.service import configure_endpoint
from tests.api.conftest import Caller, make_caller
from tests.banks.conftest import Clock
from tests.emandates.driver import Debtor
from tests.live_server import serve
from tests.reconfigure import reconfigure

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    from portal.clock import utcnow

    app.config.update(CLOCK=Clock(utcnow()), SANDBOX_BANK_PENDING_SECONDS=0,
                      EMANDATES_STATUS_MIN_INTERVAL_SECONDS=0,
                      WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def caller(app: Flask, session: Session) -> Caller:
    return make_caller(app, session).authorize()


def invite(caller: Caller, **body: object) -> dict:
    response = caller.post("/api/v1/invitations", {"customer": {"name": "De Vries Holding"},
                                                   **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def debtor_for(app: Flask, live: str, invitation_id: str) -> Debtor:
    with state(app).factory() as session:
        invitation = session.scalar(select(Invitation).where(Invitation.public_id == invitation_id))
        session.expunge(invitation)
    return Debtor(app, live, invitation)


def test_b2b_invitations_are_signed_at_the_bank_only(caller: Caller) -> None:
    b2b = invite(caller, scheme="B2B", max_amount_cents=250000, reason="Wholesale supplies")
    assert b2b["signing_methods"] == ["bank_emandate"] and b2b["purpose"] == "sign"
    refused = caller.post("/api/v1/invitations", {
        "customer": {"name": "X"}, "scheme": "B2B", "signing_methods": ["payment_verification"]})
    assert refused.status_code == 422
    assert refused.get_json()["type"].endswith("/validation-error")
    [error] = refused.get_json()["errors"]
    assert error["field"] == "signing_methods"
    assert "B2B mandate cannot be signed with payment_verification" in error["message"]
    assert "debtor's bank (bank_emandate)" in error["message"]
    core = invite(caller, signing_methods=["bank_emandate", "payment_verification"])
    assert core["signing_methods"] == ["bank_emandate", "payment_verification"]
    assert invite(caller)["signing_methods"] == ["payment_verification"]  # merchant default
    no_max = caller.post("/api/v1/invitations", {"customer": {"name": "X"},
                                                 "max_amount_cents": 100})
    assert no_max.status_code == 422
    assert no_max.get_json()["errors"][0]["field"] == "max_amount_cents"


def test_without_bank_signing_b2b_is_refused_and_nothing_is_written(
        app: Flask, caller: Caller, session: Session) -> None:
    reconfigure(app, BANK="none")
    answer = caller.post("/api/v1/invitations", {"customer": {"name": "X"}, "scheme": "B2B"})
    assert answer.status_code == 422
    problem = answer.get_json()
    assert problem["type"].endswith("/scheme-not-offered")
    assert "not configured" in problem["errors"][0]["message"]
    assert problem["errors"][0]["field"] == "scheme"
    assert session.scalar(select(Invitation.id)) is None


def test_the_mandate_shows_method_reference_and_bank_outcome_with_one_event_per_outcome(
        app: Flask, live: str, caller: Caller, session: Session) -> None:
    configure_endpoint(session, caller.merchant, "https://hooks.example/receive")
    session.commit()
    created = invite(caller, scheme="B2B")
    d = debtor_for(app, live, created["id"])
    d.come_back(d.decide(d.go_to_bank(), "rejected"))
    pending = caller.get(f"/api/v1/mandates/{created['mandate']}").get_json()
    assert pending["bank_outcome"]["status"] == "cancelled"
    assert pending["signing_method"] is None
    d.come_back(d.decide(d.go_to_bank(), "approved"))
    mandate = caller.get(f"/api/v1/mandates/{created['mandate']}").get_json()
    assert mandate["status"] == "active" and mandate["signing_method"] == "bank_emandate"
    assert mandate["validation_reference"].startswith("SBX-")
    assert mandate["signer_name"] == "J. de Vries"
    assert mandate["bank_outcome"]["status"] == "accepted"
    assert mandate["bank_outcome"]["validation_reference"] == mandate["validation_reference"]
    listed = caller.get("/api/v1/mandates").get_json()["data"]
    assert listed[0]["bank_outcome"] == mandate["bank_outcome"]
    with state(app).factory() as fresh:
        types = [e.type for e in fresh.scalars(select(Event).where(
            Event.subject == created["mandate"]).order_by(Event.id))]
        delivered = {e.type for e in fresh.scalars(select(Event).join(
            WebhookDelivery, WebhookDelivery.event_id == Event.id).where(
            Event.subject == created["mandate"]))}
    assert types.count("mandate.bank_cancelled") == 1 and types.count("mandate.active") == 1
    assert {"mandate.bank_cancelled", "mandate.active"} <= delivered


def test_the_openapi_document_describes_the_bank_fields(app: Flask) -> None:
    spec = build_spec(app.config)
    mandate = spec["components"]["schemas"]["Mandate"]["properties"]
    assert {"signing_method", "validation_reference", "bank_outcome"} <= set(mandate)
    outcome = spec["components"]["schemas"]["BankOutcome"]["properties"]["status"]["enum"]
    assert {"accepted", "not_authorised", "cancelled", "expired", "failed", "refused"} <= set(
        outcome)
    create = spec["components"]["schemas"]["CreateInvitation"]["properties"]
    assert create["signing_methods"]["items"]["enum"] == ["payment_verification",
                                                          "bank_emandate"]
    assert "/api/v1/mandates/{mandate_id}/amendments" in spec["paths"]
    assert "mandate.bank_not_authorised" in spec["paths"]["/api/v1/events"]["get"]["description"]


def _active_b2b(app: Flask, live: str, caller: Caller) -> dict:
    created = invite(caller, scheme="B2B", max_amount_cents=100000)
    d = debtor_for(app, live, created["id"])
    d.come_back(d.decide(d.go_to_bank("INGBNL2A"), "approved", iban="NL20INGB0001234567"))
    return created


def test_an_amendment_moves_the_mandate_to_an_account_at_another_bank(
        app: Flask, live: str, caller: Caller, session: Session) -> None:
    created = _active_b2b(app, live, caller)
    link = caller.post(f"/api/v1/mandates/{created['mandate']}/amendments", {})
    assert link.status_code == 201, link.get_json()
    assert link.get_json()["purpose"] == "amend"
    d = debtor_for(app, live, link.get_json()["id"])
    form = d.open()
    assert "Move your direct debits" in form.text
    bank_page = d.go_to_bank("RABONL2U")
    done = d.come_back(d.decide(bank_page, "approved", iban="NL44RABO0123456789"))
    assert "Your mandate uses your new account" in done.text
    with state(app).factory() as fresh:
        mandate = fresh.get(type(d.mandate()), d.invitation.mandate_id)
        assert mandate.status == MandateStatus.ACTIVE and mandate.bic == "RABONL2U"
        assert debtor_iban(fresh, mandate) == "NL44RABO0123456789"
        assert len(mandate.evidence["amendments"]) == 1
    assert "mandate.amended" in d.events()
    assert d.open().status_code == 410  # the link is used


def test_a_b2b_cancellation_at_the_bank_revokes_the_mandate(
        app: Flask, live: str, caller: Caller) -> None:
    created = _active_b2b(app, live, caller)
    link = caller.post(f"/api/v1/mandates/{created['mandate']}/cancellations", {}).get_json()
    d = debtor_for(app, live, link["id"])
    assert "Cancel your direct-debit mandate" in d.open().text
    done = d.come_back(d.decide(d.go_to_bank("INGBNL2A"), "approved"))
    assert "Your mandate is cancelled" in done.text
    assert d.mandate().status == MandateStatus.REVOKED
    assert "mandate.revoked" in d.events()
    again = caller.post(f"/api/v1/mandates/{created['mandate']}/cancellations", {})
    assert again.status_code == 409


def test_core_mandates_are_not_cancelled_at_the_bank(app: Flask, live: str,
                                                     caller: Caller) -> None:
    created = invite(caller, signing_methods=["bank_emandate"])
    d = debtor_for(app, live, created["id"])
    d.come_back(d.decide(d.go_to_bank("ABNANL2A"), "approved"))
    refused = caller.post(f"/api/v1/mandates/{created['mandate']}/cancellations", {})
    assert refused.status_code == 409 and "B2B" in refused.get_json()["detail"]
