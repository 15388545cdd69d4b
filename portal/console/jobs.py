"""Console jobs: a worker mails a staff invitation with the app's mail transport."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.console.invites import INVITE_JOB, InviteMail, send_invite_email
from portal.jobs.service import job_handler


@job_handler(INVITE_JOB)
def staff_invite_job(session: Session, payload: dict[str, Any]) -> None:
    adapters = get_adapters()
    send_invite_email(session, payload["invite"], transport=adapters.mail,
                      settings=InviteMail.from_config(current_app.config), now=adapters.clock())
