"""The SMS job: a worker texts a queued invitation, with the app's gateway and settings."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.jobs.service import job_handler
from portal.mandates.delivery import DeliverySettings
from portal.mandates.links import Links
from portal.sms.service import INVITATION_JOB, send_invitation_sms


@job_handler(INVITATION_JOB)
def invitation_sms_job(session: Session, payload: dict[str, Any]) -> None:
    adapters, config = get_adapters(), current_app.config
    send_invitation_sms(session, payload["invitation"], gateway=adapters.sms,
                        links=Links.from_config(config),
                        settings=DeliverySettings.from_config(config), now=adapters.clock())
