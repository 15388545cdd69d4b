"""The counter screen faces the customer: it speaks their language. The switcher on the screen
(remembered for the next customer), else the tablet's browser, else the customer's own language;
the status the screen polls carries its label in the same language."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.payments.models import PaymentRequest
from tests.console.test_roles import World, _client
from tests.sign.driver import csrf_token


@pytest.fixture
def tablet(app: Flask, world: World) -> FlaskClient:
    return _client(app, world.staff["merchant_admin"])


def _screen(tablet: FlaskClient, world: World, kind: str, **customer: str) -> str:
    path = f"/console/merchants/{world.own.merchant}/counter/{kind}"
    data = {"customer_name": "Sam de Vries", **customer}
    if kind == "payment-requests":
        data |= {"amount": "3,20", "description": "Koffie"}
    token = csrf_token(tablet.get("/console/password"))
    response = tablet.post(path, data={"csrf_token": token, **data})
    assert response.status_code == 303
    return response.headers["Location"]


@pytest.mark.parametrize(("header", "lang", "title", "label", "html_lang"), [
    ("", "", "Unterschreiben Sie das Lastschriftmandat", "Scannen Sie den Code mit Ihrem Handy",
     "de"),  # nothing else known: the customer's language
    ("nl-NL,nl;q=0.9", "", "Onderteken de incassomachtiging", "Scan de code met uw telefoon",
     "nl"),  # the tablet's browser
    ("nl-NL", "fr", "Signez le mandat de prélèvement", "Scannez le code avec votre téléphone",
     "fr"),  # the switcher beats the browser
])
def test_the_invitation_screen_in_the_customers_language(
        tablet: FlaskClient, world: World, header: str, lang: str, title: str, label: str,
        html_lang: str) -> None:
    screen = _screen(tablet, world, "invitations", customer_locale="de")
    if header:
        tablet.environ_base["HTTP_ACCEPT_LANGUAGE"] = header
    html = tablet.get(screen, query_string={"lang": lang} if lang else None).get_data(
        as_text=True)
    assert f'<html lang="{html_lang}">' in html
    assert f'<h1 class="counter-title">{title}</h1>' in html and f">{label}</p>" in html
    assert tablet.get(f"{screen}/status").get_json()["label"] == label  # the same language
    assert 'id="counter-languages"' in html and f'{screen}?lang=en' in html


def test_a_payment_screen_in_dutch_with_the_amount_written_the_dutch_way(
        tablet: FlaskClient, world: World, session: Session) -> None:
    tablet.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    screen = _screen(tablet, world, "payment-requests")
    html = tablet.get(screen).get_data(as_text=True)
    assert "Betaal €\u00a03,20" in html and "Volgende klant" in html and "Vernieuwen" in html
    preq = session.scalars(select(PaymentRequest).order_by(PaymentRequest.id.desc())).first()
    assert preq.amount_cents == 320
    assert tablet.get(f"{screen}/status").get_json()["label"] == "Scan de code met uw telefoon"


def test_the_switchers_choice_stays_for_the_next_customer(tablet: FlaskClient,
                                                          world: World) -> None:
    tablet.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    first = _screen(tablet, world, "invitations")
    assert ">Scan the code with your phone</p>" in tablet.get(first).get_data(as_text=True)
    tablet.get(first, query_string={"lang": "de"})
    second = _screen(tablet, world, "invitations")
    assert ">Scannen Sie den Code mit Ihrem Handy</p>" in tablet.get(second).get_data(
        as_text=True)
