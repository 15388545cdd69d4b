"""The whole journey through the sandbox bank over HTTP, B2B and Core: every outcome, the
status asked before the bank finished, and the debtor who never comes back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.documents.models import MandatePdf
from portal.emandates.reports import evidence_report
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Mandate, MandateStatus, Scheme, SigningMethod
from tests.banks.conftest import Clock
from tests.emandates.driver import Debtor
from tests.factories import make_invitation
from tests.live_server import serve

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Journeys over HTTP on SQLite; the rules they exercise run on both databases in
    test_reports.py, and the success journey once on PostgreSQL below."""
    return request.param


@pytest.fixture
def clock(app: Flask) -> Clock:
    from portal.clock import utcnow

    clock = Clock(utcnow())
    app.config.update(CLOCK=clock, SANDBOX_BANK_PENDING_SECONDS=0,
                      EMANDATES_STATUS_MIN_INTERVAL_SECONDS=0)
    return clock


@pytest.fixture
def live(app: Flask, clock: Clock) -> Iterator[str]:
    with serve(app) as base_url:
        yield base_url


def debtor(app: Flask, session: Session, live: str, scheme: Scheme = Scheme.B2B,
           methods: tuple[SigningMethod, ...] = (SigningMethod.BANK_EMANDATE,),
           **overrides: object) -> Debtor:
    invitation = make_invitation(session, scheme=scheme, signing_methods=methods, **overrides)
    session.commit()
    return Debtor(app, live, invitation)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param(
    "postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_b2b_success_activates_with_the_banks_account_signer_and_reference(
        app: Flask, session: Session, live: str) -> None:
    d = debtor(app, session, live, max_amount_cents=500000, reason="Wholesale supplies")
    form = d.open()
    assert "Sign at my bank" not in form.text  # the only method: no choice to make
    assert 'id="debtor_bank"' in form.text and "no right to a refund" in form.text
    bank_page = d.go_to_bank()
    review = d.browser.get(bank_page)
    assert "ING" in review.text
    done = d.come_back(d.decide(bank_page, "approved", iban="NL20INGB0001234567"))
    assert done.status_code == 200 and "your mandate is active" in done.text
    assert "Your bank has registered the mandate." in done.text
    mandate = d.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    assert mandate.signing_method == SigningMethod.BANK_EMANDATE
    assert mandate.iban_masked.startswith("NL20")
    assert mandate.bic == "INGBNL2A" and mandate.signer_name == "J. de Vries"
    assert mandate.debtor_name == "De Vries Holding B.V."
    assert mandate.validation_reference.startswith("SBX-")
    assert b"<ds:Signature" in evidence_report(session, mandate.evidence)  # kept encrypted
    assert "mandate.active" in d.events()
    [transaction] = d.transactions()
    assert transaction.outcome == "accepted" and transaction.kind == "new"


@pytest.mark.parametrize("scheme", [Scheme.B2B, Scheme.CORE])
def test_pending_then_success(app: Flask, session: Session, live: str, clock: Clock,
                              scheme: Scheme) -> None:
    app.config["SANDBOX_BANK_PENDING_SECONDS"] = 60
    d = debtor(app, session, live, scheme)
    page = d.come_back(d.decide(d.go_to_bank(), "approved"))
    assert "Waiting for your bank" in page.text
    assert d.status()["attempt"] == "pending"
    assert d.mandate().status == MandateStatus.AWAITING_VERIFICATION
    clock.advance(seconds=61)
    assert d.status()["status"] == "active"
    assert d.events().count("mandate.bank_pending") == 1
    assert d.events().count("mandate.active") == 1


@pytest.mark.parametrize(("scheme", "decision", "outcome", "event", "notice"), [
    *((scheme, "rejected", "cancelled", "mandate.bank_cancelled", "You stopped at your bank")
      for scheme in (Scheme.B2B, Scheme.CORE)),
    *((scheme, "failed", "failed", "mandate.bank_failed",
       "Your bank could not complete the signing") for scheme in (Scheme.B2B, Scheme.CORE)),
    (Scheme.B2B, "not_authorised", "not_authorised", "mandate.bank_not_authorised",
     "you may not sign for this company"),
])
def test_outcomes_that_end_without_a_signature_offer_another_try(
        app: Flask, session: Session, live: str, scheme: Scheme, decision: str, outcome: str,
        event: str, notice: str) -> None:
    d = debtor(app, session, live, scheme)
    page = d.come_back(d.decide(d.go_to_bank(), decision))
    assert page.url.path.endswith(d.path.rsplit("/", 1)[1])  # back on the form
    assert notice in page.text
    assert d.mandate().status == MandateStatus.AWAITING_VERIFICATION
    assert d.transactions()[-1].outcome == outcome
    assert d.events().count(event) == 1
    # and another try works
    again = d.come_back(d.decide(d.go_to_bank(), "approved"))
    assert "your mandate is active" in again.text


def test_status_polled_before_the_bank_has_finished(app: Flask, session: Session,
                                                     live: str) -> None:
    d = debtor(app, session, live)
    bank_page = d.go_to_bank()
    assert d.status()["attempt"] == "open"  # the debtor is still at their bank
    waiting = d.browser.get(d.path + "/done")
    assert "Waiting for your bank" in waiting.text
    d.come_back(d.decide(bank_page, "approved"))
    assert d.status()["status"] == "active"


@pytest.mark.parametrize("scheme", [Scheme.B2B, Scheme.CORE])
def test_expired_at_the_bank(app: Flask, session: Session, live: str, clock: Clock,
                             scheme: Scheme) -> None:
    d = debtor(app, session, live, scheme)
    d.go_to_bank()  # and leaves
    clock.advance(days=7, minutes=1)
    assert d.status()["outcome"] == "expired"
    page = d.open()
    assert "expired before it was completed" in page.text
    assert d.events().count("mandate.bank_expired") == 1


def test_a_debtor_who_never_returns_is_settled_by_the_background_poll(
        app: Flask, session: Session, live: str, clock: Clock) -> None:
    d = debtor(app, session, live)
    bank_page = d.go_to_bank()
    clock.advance(minutes=2)
    run_due_jobs(app)  # the first poll: still open
    assert d.transactions()[-1].outcome == "open"
    d.decide(bank_page, "approved")  # ... and closes the browser instead of returning
    clock.advance(minutes=10)
    run_due_jobs(app)
    assert d.mandate().status == MandateStatus.ACTIVE
    history = d.transactions()[-1].status_history
    assert [h["source"] for h in history][-1] == "poll"


def test_a_debtor_who_leaves_the_bank_is_expired_by_the_background_poll(
        app: Flask, session: Session, live: str, clock: Clock) -> None:
    d = debtor(app, session, live, scheme=Scheme.CORE)
    d.go_to_bank()
    clock.advance(hours=1, minutes=1)
    run_due_jobs(app)
    assert d.transactions()[-1].outcome == "expired"
    assert d.mandate().status == MandateStatus.AWAITING_VERIFICATION


def test_core_debtor_chooses_the_bank_preselected_from_the_iban(
        app: Flask, session: Session, live: str) -> None:
    d = debtor(app, session, live, scheme=Scheme.CORE,
               methods=(SigningMethod.PAYMENT_VERIFICATION, SigningMethod.BANK_EMANDATE))
    form = d.open()
    assert "Pay one cent" in form.text and "Sign at my bank" in form.text
    started = d.submit(bank=None, iban="NL91 ABNA 0417 1643 00")  # no bank chosen: the IBAN's
    assert started.status_code == 303
    bank_page = started.headers["location"]
    assert "ABN AMRO" in d.browser.get(bank_page).text
    done = d.come_back(d.decide(bank_page, "approved"))
    assert "your mandate is active" in done.text
    mandate = d.mandate()
    assert mandate.scheme == Scheme.CORE and mandate.bic == "ABNANL2A"
    assert mandate.signing_method == SigningMethod.BANK_EMANDATE


def test_choosing_no_bank_and_no_iban_asks_for_the_bank(app: Flask, session: Session,
                                                        live: str) -> None:
    d = debtor(app, session, live)
    answer = d.submit(bank=None)
    assert answer.status_code == 422 and "Choose your bank." in answer.text


def test_an_unavailable_bank_shows_the_acquirers_message(app: Flask, session: Session,
                                                         live: str) -> None:
    d = debtor(app, session, live)
    answer = d.submit(bank="SNDBNL2U")
    assert answer.status_code == 503
    assert "Your bank is not available right now" in answer.text
    assert d.transactions()[-1].outcome == "error"


def _clear_text(session: Session, needles: tuple[str, ...]) -> list[str]:
    """Every stored text (string, text and JSON columns of every table) holding a needle."""
    from sqlalchemy import String, Text
    from sqlalchemy.types import JSON

    from portal.models import Base

    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        for row in session.execute(select(*columns)).all() if columns else ():
            for column, value in zip(columns, row, strict=True):
                text = "" if value is None else str(value).replace(" ", "")
                found += [f"{table.name}.{column.name}" for n in needles if n in text]
    return found


@pytest.mark.parametrize("backend", ["sqlite", pytest.param(
    "postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_mandate_signed_at_the_bank_leaves_no_iban_in_clear_in_the_database(
        app: Flask, session: Session, live: str) -> None:
    """The bank's signed pain.012 names the debtor's account: it is stored encrypted as a whole
    (on the portal's transaction and in the sandbox bank), like every IBAN at rest; the sealed
    PDF job and its copy mail run too."""
    typed, reported = "NL91ABNA0417164300", "NL20INGB0001234567"
    d = debtor(app, session, live)
    bank_page = d.go_to_bank("INGBNL2A", iban=typed)
    done = d.come_back(d.decide(bank_page, "approved", iban=reported))
    assert "your mandate is active" in done.text
    run_due_jobs(app)
    session.expire_all()
    mandate = session.get(Mandate, d.invitation.mandate_id)
    assert mandate is not None and mandate.status == MandateStatus.ACTIVE
    assert reported.encode() in evidence_report(session, mandate.evidence)
    assert session.scalar(select(MandatePdf.id).where(MandatePdf.mandate_id == mandate.id))
    assert _clear_text(session, (typed, reported, typed[4:], reported[4:])) == []
