"""The daily import of the provider's settlements (queued by the billing run, once a day);
a provider that cannot be reached is left to the job queue's retries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.bookkeeping.settlements import SETTLEMENTS_JOB, import_settlements
from portal.jobs.service import job_handler


@job_handler(SETTLEMENTS_JOB)
def import_provider_settlements(session: Session, payload: dict[str, Any]) -> None:
    adapters = get_adapters()
    import_settlements(session, adapters.payment_provider, now=adapters.clock())
