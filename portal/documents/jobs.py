"""The PDF job: a worker seals a newly active mandate's PDF with the app's sealer and store."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.documents.service import PDF_JOB, produce_mandate_pdf
from portal.jobs.service import job_handler


@job_handler(PDF_JOB)
def mandate_pdf_job(session: Session, payload: dict[str, Any]) -> None:
    adapters = get_adapters()
    produce_mandate_pdf(session, payload["mandate"], sealer=adapters.sealing().sealer(),
                        store=adapters.pdf_store, now=adapters.clock())
