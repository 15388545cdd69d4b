"""Sending a queued reminder: re-check the invitation, then mail or text it like the invitation
itself (same retries, same failure recording). The handlers hand the app's adapters and
settings to :mod:`portal.reminders.service`."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.jobs.service import job_handler
from portal.mail.messages import MailSettings
from portal.mandates.delivery import DeliverySettings
from portal.mandates.links import Links
from portal.mandates.schedule import EMAIL_REMINDER_JOB, SMS_REMINDER_JOB
from portal.reminders.service import send_reminder_email, send_reminder_sms


@job_handler(EMAIL_REMINDER_JOB)
def reminder_email_job(session: Session, payload: dict[str, Any]) -> None:
    adapters, config = get_adapters(), current_app.config
    send_reminder_email(session, payload["invitation"], int(payload["reminder"]),
                        transport=adapters.mail, links=Links.from_config(config),
                        mail=MailSettings.from_config(config),
                        settings=DeliverySettings.from_config(config), now=adapters.clock())


@job_handler(SMS_REMINDER_JOB)
def reminder_sms_job(session: Session, payload: dict[str, Any]) -> None:
    adapters, config = get_adapters(), current_app.config
    send_reminder_sms(session, payload["invitation"], int(payload["reminder"]),
                      gateway=adapters.sms, links=Links.from_config(config),
                      settings=DeliverySettings.from_config(config), now=adapters.clock())
