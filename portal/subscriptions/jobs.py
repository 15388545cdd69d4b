"""The billing run as a background job that queues itself again every hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.jobs.service import job_handler
from portal.subscriptions.run import run_billing
from portal.subscriptions.service import RUN_JOB, schedule_run

RUN_EVERY = timedelta(hours=1)


@job_handler(RUN_JOB)
def billing_run(session: Session, payload: dict[str, Any]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_billing(app)
    schedule_run(session, get_adapters(app).clock() + RUN_EVERY)
