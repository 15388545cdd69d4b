"""A company signs a B2B mandate at its own (sandbox) bank on a phone: the form, the bank's
page, the wait, the active mandate and its sealed PDF, which embeds the bank's pain.012."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from portal.banks.evidence import check_sealed_report
from portal.documents.sealing import seal_trust
from portal.documents.service import BANK_REPORT_FILE
from portal.mandates.links import make_invitation_token
from portal.mandates.models import MandateStatus, Scheme, SigningMethod
from signing import verify
from tests.browser.test_signing_journey import assert_no_horizontal_scroll, mandate_status
from tests.factories import make_invitation

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_a_company_signs_a_b2b_mandate_at_its_bank_on_a_phone(
        phone_page: Page, app: Flask, session: Session, live_server: str,
        screenshots: Path, artifacts: Path) -> None:
    app.config.update(SANDBOX_BANK_PENDING_SECONDS=0, JOBS_IN_PROCESS=False)
    invitation = make_invitation(session, scheme=Scheme.B2B, max_amount_cents=250000,
                                 signing_methods=(SigningMethod.BANK_EMANDATE,),
                                 customer_name="De Vries Holding B.V.")
    session.commit()
    token = make_invitation_token(invitation.public_id, invitation.expires_at,
                                  app.config["SECRET_KEY"])
    page = phone_page
    page.goto(f"{live_server}/sign/{token}?lang=en")
    expect(page.locator("#max-amount")).to_have_text("€2500.00")
    expect(page.locator("#b2b-notice")).to_contain_text("no right to a refund")
    page.locator("#iban").press_sequentially("NL20 INGB 0001 2345 67")
    expect(page.locator("#debtor_bank")).to_have_value("INGBNL2A")  # from the IBAN's BIC
    page.locator("#consent").check()
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "bank-1-form.png", full_page=True)
    page.get_by_role("button", name="Continue to my bank").tap()

    page.wait_for_url("**/sandbox-bank/authorise/**")
    expect(page.locator("#bank-name")).to_have_text("ING")
    page.locator("#login-user").fill("J. de Vries")
    page.locator("#login-pin").fill("12345")
    page.locator("#bank-login").tap()
    expect(page.locator("#bank-no-refund")).to_be_visible()
    expect(page.locator("#bank-max-amount")).to_have_text("€2500.00")
    expect(page.locator("#bank-not-authorised")).to_be_visible()
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "bank-2-bank.png", full_page=True)
    page.locator("#bank-approve").tap()

    page.wait_for_url(f"**/sign/{token}/done")
    expect(page.locator("#mandate-status")).to_have_text("Active")
    expect(page.locator("#bank-registered")).to_be_visible()
    expect(page.locator("#mandate-signer")).to_have_text("J. de Vries")
    assert mandate_status(app, invitation.mandate.public_id) == MandateStatus.ACTIVE

    from portal.jobs.service import run_due_jobs

    run_due_jobs(app)  # the PDF job; the page notices it by itself
    expect(page.locator("#pdf-link")).to_be_visible(timeout=15_000)
    assert_no_horizontal_scroll(page)
    page.screenshot(path=screenshots / "bank-3-done.png", full_page=True)
    pdf = page.request.get(page.locator("#pdf-link").evaluate("a => a.href"))
    assert pdf.headers["content-type"] == "application/pdf"
    data = pdf.body()
    (artifacts / "bank-signed-mandate.pdf").write_bytes(data)
    assert re.match(rb"%PDF-", data)
    report = verify(data, seal_trust(app))
    assert report.ok, report.reasons
    embedded = report.attachments[BANK_REPORT_FILE]  # the bank's pain.012, as it signed it
    check = check_sealed_report(embedded.data, report.evidence)
    assert check.ok, check.reasons
    assert check.mandate_reference == invitation.mandate.reference
    assert check.validation_reference == report.evidence["validation_reference"]
