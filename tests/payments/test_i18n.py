"""The checkout, its outcome page, emails and texts in the customer's language."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from portal.payments.messages import request_sms
from portal.payments.service import CustomerDetails
from portal.sms.segments import GSM_SINGLE, is_gsm, septets
from tests.payments.conftest import make_request, run_jobs
from tests.payments.driver import Checkout

NBSP = "\u00a0"


@pytest.mark.parametrize(("lang", "words"), [
    ("nl", ["Hoe wilt u betalen?", f"€{NBSP}42,50", "Betaal met uw telefoon", "Factuur"]),
    ("de", ["Wie möchten Sie bezahlen?", f"42,50{NBSP}€", "Mit dem Handy bezahlen"]),
    ("fr", ["Comment souhaitez-vous payer", f"42,50{NBSP}€", "Payer avec votre téléphone"]),
])
def test_the_checkout_speaks_the_customers_language(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant, lang: str,
        words: list[str]) -> None:
    checkout = Checkout(app, client, session, make_request(session, merchant, amount_cents=4250))
    text = checkout.open(f"?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}"' in text
    for word in words:
        assert str(escape(word)) in text, word


def test_the_customers_locale_is_used_without_a_choice(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, customer=CustomerDetails(
        name="Lena", email="lena@example.org", locale="de"), channel="email")
    run_jobs(app)  # the request goes out
    done = Checkout(app, client, session, request).pay("ideal").get_data(as_text=True)
    assert "Vielen Dank, Sie haben bezahlt" in done
    run_jobs(app)
    subjects = sorted(message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
                      for p in (Path(app.instance_path) / "outbox").glob("*.eml"))
    assert subjects == [f"Beleg: Sie haben 100,00{NBSP}€ an {merchant.display_name} bezahlt",
                        f"{merchant.display_name} bittet Sie, 100,00{NBSP}€ zu bezahlen"]


@pytest.mark.parametrize("locale", ["en", "nl", "de", "fr"])
@pytest.mark.parametrize("kind", ["request", "reminder", "fallback"])
def test_texts_fit_one_gsm_segment(app: Flask, session: Session, merchant: Merchant,
                                   locale: str, kind: str) -> None:
    request = make_request(session, merchant, customer=CustomerDetails(
        name="Sam", phone="+31612345678", locale=locale))
    with app.app_context():
        text = request_sms(request, "https://pay.example.org/s/AbCdE12345", kind)
    assert is_gsm(text) and septets(text) <= GSM_SINGLE, text
