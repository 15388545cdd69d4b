"""Fixtures for data-key rotation: apps on one database with the old key, during the rotation
(new key, old one as fallback) and after it (new key only), data made under the old key, and
searches by IBAN the way support staff and merchants search."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from schwifty import IBAN
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import state
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from portal.sepa import IbanError, validate_iban
from portal.webhooks.service import configure_endpoint, rotate_secret
from tests.api.conftest import make_caller
from tests.conftest import app_settings
from tests.console.conftest import Staff, log_in, make_staff
from tests.factories import make_invitation, make_merchant

OLD_KEY, NEW_KEY = "old-data-key", "new-data-key"


@functools.cache
def iban(number: int) -> str:
    """The ``number``-th valid IBAN of a series (national check digits rule some out)."""
    found, account = -1, 532013000
    while found < number:
        candidate = str(IBAN.generate("DE", bank_code="37040044", account_code=f"{account:010d}"))
        account += 1
        try:
            validate_iban(candidate)
        except IbanError:
            continue
        found += 1
    return candidate


@dataclass
class Keyed:
    """Apps on the same database: before, during and after the rotation."""

    old: Flask
    rotating: Flask
    new: Flask
    build: Callable[..., Flask]


@pytest.fixture
def keyed(database_url: str, tmp_path: Path) -> Iterator[Keyed]:
    apps: list[Flask] = []

    def build(key: str, fallbacks: tuple[str, ...] = ()) -> Flask:
        app = create_app({**app_settings(database_url, tmp_path / "instance"),
                          "DATA_KEY": key, "DATA_KEY_FALLBACKS": list(fallbacks)})
        apps.append(app)
        return app

    yield Keyed(build(OLD_KEY), build(NEW_KEY, (OLD_KEY,)), build(NEW_KEY), build)
    for app in apps:
        state(app).engine.dispose()


@dataclass
class Seeded:
    merchant_id: int
    #: Mandate public id → its IBAN, in creation (primary key) order.
    mandates: dict[str, str]
    staff: Staff


def seed(app: Flask, count: int, *, webhook: bool = True) -> Seeded:
    """``count`` mandates with IBANs (each its own), under ``app``'s data key; a merchant with
    a webhook secret and a previous one, when ``webhook``."""
    with app.app_context(), state(app).factory() as session:
        merchant = make_merchant(session)
        if webhook:
            configure_endpoint(session, merchant, "https://hooks.example/portal")
            rotate_secret(session, merchant)
        mandates = {}
        for number in range(count):
            invitation = make_invitation(session, merchant)
            set_debtor_account(session, invitation.mandate, iban(number), None)
            mandates[invitation.mandate.public_id] = iban(number)
        session.commit()
        staff = make_staff(session)
        return Seeded(merchant.id, mandates, staff)


def console_search(app: Flask, staff: Staff, query: str) -> set[str]:
    """Mandate ids the console lists for ``query``."""
    client = app.test_client()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    page = client.get("/console/", query_string={"q": query})
    assert page.status_code == 200
    return set(re.findall(r"/console/mandates/(md_[0-9A-Za-z]+)", page.get_data(as_text=True)))


def api_search(app: Flask, merchant_id: int, query: str) -> set[str]:
    """Mandate ids the merchant API lists for ``?iban=query``."""
    with state(app).factory() as session:
        merchant = session.get(Merchant, merchant_id)
        caller = make_caller(app, session, merchant, "mandates:read").authorize()
    response = caller.get("/api/v1/mandates", query_string={"iban": query, "limit": 100})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.get_json()["data"]}


def finds(app: Flask, seeded: Seeded, public_id: str) -> bool:
    """Both searches, with the IBAN typed with spaces, find exactly this mandate."""
    typed = " ".join(re.findall(".{1,4}", seeded.mandates[public_id]))
    return (console_search(app, seeded.staff, typed) == {public_id}
            and api_search(app, seeded.merchant_id, typed) == {public_id})


def session_of(app: Flask) -> Session:
    return state(app).factory()
