"""Mail jobs: a worker sends a queued invitation or mandate copy with the app's transport."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.jobs.service import job_handler
from portal.mail.messages import MailSettings
from portal.mail.service import (
    INVITATION_JOB,
    MANDATE_COPY_JOB,
    send_invitation_email,
    send_mandate_copy,
)
from portal.mandates.delivery import DeliverySettings
from portal.mandates.links import Links


@job_handler(INVITATION_JOB)
def invitation_email_job(session: Session, payload: dict[str, Any]) -> None:
    adapters, config = get_adapters(), current_app.config
    send_invitation_email(session, payload["invitation"], transport=adapters.mail,
                          links=Links.from_config(config), mail=MailSettings.from_config(config),
                          settings=DeliverySettings.from_config(config), now=adapters.clock())


@job_handler(MANDATE_COPY_JOB)
def mandate_copy_job(session: Session, payload: dict[str, Any]) -> None:
    adapters = get_adapters()
    send_mandate_copy(session, payload["mandate"], transport=adapters.mail,
                      store=adapters.pdf_store, mail=MailSettings.from_config(current_app.config),
                      now=adapters.clock())
