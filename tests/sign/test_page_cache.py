"""Repeat visits of a signing link are served from the rendered-page cache with one query,
and any change to the mandate shows at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from portal.db import state
from portal.sign.form_tokens import form_token, valid_form_token
from tests.sign.driver import Journey


@contextmanager
def counted_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = state(app).engine

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_repeat_visit_costs_one_query(app: Flask, journey: Journey) -> None:
    first = journey.open()
    with counted_queries(app) as statements:
        again = journey.open()
    assert again.data == first.data
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_each_language_is_its_own_page(journey: Journey) -> None:
    english = journey.client.get(journey.path, headers={"Accept-Language": "en"})
    dutch = journey.client.get(journey.path, headers={"Accept-Language": "nl"})
    assert english.data != dutch.data and b'lang="nl"' in dutch.data


def test_a_change_to_the_mandate_is_never_hidden_by_the_cache(journey: Journey) -> None:
    journey.open()
    back = journey.follow(journey.pay("failed"))
    assert b'id="retry-notice"' in back.data
    journey.follow(journey.pay("paid"))
    assert journey.open().status_code == 410


def test_form_tokens_are_bound_to_the_invitation_and_key() -> None:
    token = form_token("inv_a", "key")
    assert valid_form_token("inv_a", token, "key")
    assert not valid_form_token("inv_b", token, "key")
    assert not valid_form_token("inv_a", token, "other-key")
    assert valid_form_token("inv_a", token, "new-key", ["key"])
    assert not valid_form_token("inv_a", None, "key")


def test_a_form_token_of_another_link_is_refused(journey: Journey, app: Flask) -> None:
    response = journey.client.post(journey.path, data={
        "csrf_token": form_token("inv_someoneelse0000000000", app.config["SECRET_KEY"]),
        "name": "Sam", "email": "sam@example.org", "iban": "NL91ABNA0417164300", "consent": "y"})
    assert response.status_code == 400
    assert journey.mandate().status.value == "invited"


def test_the_merchant_turning_on_the_verification_refund_shows_on_a_cached_page(
        journey: Journey) -> None:
    assert b'id="refund-notice"' not in journey.open().data
    merchant = journey.invitation.merchant
    merchant.refund_verification = True  # as `merchant payments --refund-verification` does
    journey.session.commit()
    assert b'id="refund-notice"' in journey.open().data
    merchant.refund_verification = False
    journey.session.commit()
    assert b'id="refund-notice"' not in journey.open().data
