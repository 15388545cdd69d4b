"""Telling the merchant by email that their endpoint was disabled (queued with the disabling)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.audit.service import record_audit
from portal.jobs.service import enqueue, job_handler
from portal.merchants.models import Merchant
from portal.webhooks.models import DeliveryStatus, WebhookDelivery

NOTICE_JOB = "webhook.disabled_notice"


def queue_disabled_notice(session: Session, merchant: Merchant, *, reason: str,
                          now: datetime) -> None:
    """Queue the notice in the disabling's transaction; nothing to send without an address."""
    if not merchant.contact_email:
        return
    enqueue(session, NOTICE_JOB, {"merchant": merchant.public_id, "reason": reason,
                                  "disabled_at": now.isoformat()},
            dedupe_key=f"{NOTICE_JOB}:{merchant.public_id}:{now.isoformat()}")


def disabled_notice(merchant: Merchant, *, reason: str, parked: int) -> EmailMessage:
    config = current_app.config
    disabled_at = merchant.webhook_disabled_at
    with force_locale("en"):  # an operational notice to the merchant's technical contact
        text = render_template(
            "webhooks/endpoint_disabled.txt", merchant=merchant, reason=reason, parked=parked,
            disabled_at=disabled_at.strftime("%Y-%m-%d %H:%M") if disabled_at else "",
            timeout=f"{float(config['WEBHOOK_TIMEOUT_SECONDS']):g}",
            portal_url=config["PUBLIC_BASE_URL"])
    message = EmailMessage()
    message["Subject"] = f"Webhooks to {merchant.webhook_url} are disabled"
    message["From"] = config["MAIL_FROM"]
    message["To"] = merchant.contact_email
    message["Message-ID"] = make_msgid(domain="mandate-portal")
    message.set_content(text)
    return message


@job_handler(NOTICE_JOB)
def send_disabled_notice(session: Session, payload: dict[str, Any]) -> None:
    merchant = session.scalar(select(Merchant).where(Merchant.public_id == payload["merchant"]))
    if merchant is None or not merchant.contact_email or merchant.webhook_disabled_at is None:
        return  # re-enabled (or gone) before the notice went out: nothing to report
    parked = session.scalar(select(func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.merchant_id == merchant.id,
        WebhookDelivery.status == DeliveryStatus.PENDING))
    message = disabled_notice(merchant, reason=payload["reason"], parked=parked or 0)
    get_adapters().mail.send(message)
    record_audit(session, action="mail.webhook_disabled_notice", subject=merchant.public_id,
                 actor="system", merchant_id=merchant.id,
                 data={"message_id": message["Message-ID"], "to": merchant.contact_email})
