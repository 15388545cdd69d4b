"""Prometheus metrics at ``/metrics`` (bearer token from config), multi-process aware."""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds", "HTTP request latency",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
MANDATES_SIGNED = Counter("portal_mandates_signed_total", "Mandates activated", ["method"])
PDF_SECONDS = Histogram("portal_pdf_generation_seconds", "Render + seal + store of a mandate PDF",
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
JOB_FAILURES = Counter("portal_job_failures_total", "Background job attempts that failed",
                       ["kind"])
WEBHOOK_SECONDS = Histogram("portal_webhook_delivery_seconds", "Webhook delivery attempt latency",
                            ["outcome"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15))

bp = Blueprint("metrics", __name__)


class QueueCollector:
    """Gauges read from the database at scrape time, so every process reports the same."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        from sqlalchemy import func, select

        from portal.db import state
        from portal.jobs.models import Job, JobStatus

        depth = GaugeMetricFamily("portal_job_queue_depth", "Pending background jobs", labels=["kind"])
        with state(self.app).factory() as session:
            rows = session.execute(select(Job.kind, func.count()).where(
                Job.status == JobStatus.PENDING).group_by(Job.kind)).all()
        for kind, count in rows:
            depth.add_metric([kind], count)
        yield depth


def _registry(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for collector in (REQUEST_SECONDS, MANDATES_SIGNED, PDF_SECONDS, JOB_FAILURES,
                          WEBHOOK_SECONDS):
            registry.register(collector)
    registry.register(QueueCollector(app))
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config["METRICS_TOKEN"]
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token:
        abort(404)
    if not hmac.compare_digest(offered.encode(), str(token).encode()):
        abort(401)
    return Response(generate_latest(_registry(current_app._get_current_object())),
                    mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


#: The histogram's child per (method, endpoint, status), as ``labels()`` would return it, kept
#: here so that a request only looks it up (``labels()`` validates and locks on every call).
_REQUEST_SERIES: dict[tuple[str, str, int], Any] = {}


def _observe(response: Response) -> Response:
    started = g.pop("request_started", None)
    endpoint = request.endpoint
    if started is not None and endpoint != "metrics.metrics":
        observe_request(request.method, endpoint or "unmatched", response.status_code,
                        time.perf_counter() - started)
    return response


def observe_request(method: str, endpoint: str, status: int, seconds: float) -> None:
    """One answered request in the latency histogram."""
    key = (method, endpoint, status)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = _REQUEST_SERIES[key] = REQUEST_SECONDS.labels(method, endpoint, str(status))
    series.observe(seconds)


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)
