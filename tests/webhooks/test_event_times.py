"""One time format leaves the portal: an event's ``created_at`` reads the same in its webhook,
in the API's event feed and on the event itself."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy.orm import Session

from tests.api.conftest import make_caller
from tests.webhooks.conftest import Clock, Endpoint, emit, run_all


def test_webhook_and_api_give_the_same_created_at(app: Flask, session: Session,
                                                 endpoint: Endpoint, clock: Clock) -> None:
    clock.now = clock.now.replace(microsecond=987654)  # sub-second precision to lose or keep
    event = emit(app, session, endpoint.merchant, "mandate.created", mandate="md_1")
    assert run_all(app) == 1
    [request] = endpoint.receiver.requests
    api = make_caller(app, session, merchant=endpoint.merchant,
                      scopes="events:read").authorize()
    feed = api.get("/api/v1/events").get_json()["data"]
    single = api.get(f"/api/v1/events/{event.public_id}").get_json()

    sent = request.json()["created_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", sent)
    assert sent == feed[0]["created_at"] == single["created_at"]
