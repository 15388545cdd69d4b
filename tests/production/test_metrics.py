"""Prometheus metrics: protected, and moving after a journey."""

from __future__ import annotations

import re

from flask import Flask

from portal.jobs.service import run_due_jobs
from tests.sign.driver import Journey


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_endpoint_is_off_without_a_token(app: Flask, journey: Journey) -> None:
    assert journey.client.get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token(app: Flask, journey: Journey) -> None:
    app.config["METRICS_TOKEN"] = "scrape-me"
    assert journey.client.get("/metrics").status_code == 401
    assert journey.client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_counters_move_after_a_journey(app: Flask, journey: Journey) -> None:
    app.config["METRICS_TOKEN"] = "scrape-me"
    auth = {"Authorization": "Bearer scrape-me"}
    before = journey.client.get("/metrics", headers=auth).get_data(as_text=True)
    journey.follow(journey.pay("paid"))
    queued = journey.client.get("/metrics", headers=auth).get_data(as_text=True)
    assert _value(queued, "portal_job_queue_depth", '{kind="mandate.pdf"}') == 1
    run_due_jobs(app)
    after = journey.client.get("/metrics", headers=auth).get_data(as_text=True)

    signed = 'portal_mandates_signed_total'
    label = '{method="payment_verification"}'
    assert _value(after, signed, label) == _value(before, signed, label) + 1
    assert _value(after, "portal_pdf_generation_seconds_count") >= \
        _value(before, "portal_pdf_generation_seconds_count") + 1
    requests = r'portal_http_request_duration_seconds_count\{endpoint="sign.sign",method="GET"'
    assert re.search(requests, after)
    assert _value(after, "portal_job_queue_depth", '{kind="mandate.pdf"}') == 0
