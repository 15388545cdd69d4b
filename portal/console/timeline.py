"""One mandate's story in time order, for people: the audit trail, invitations and reminders
sent, verification payments, attempts at the bank, debits and their returns, and the webhook
deliveries of its events, merged into one list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.audit.models import AuditEvent
from portal.collections.models import Debit
from portal.emandates.models import BankTransaction
from portal.events.models import Event
from portal.mandates.models import Invitation
from portal.verification.models import VerificationPayment
from portal.webhooks.models import WebhookDelivery

#: What audit actions mean, in words; others are shown as recorded.
AUDIT_TITLES = {
    "mandate.create": "Mandate created",
    "mandate.submit": "Customer signed",
    "mandate.activate": "Mandate active",
    "mandate.fail": "Account check failed",
    "mandate.cancel": "Withdrawn",
    "mandate.revoke": "Revoked",
    "mandate.expire": "Expired",
    "mandate.amend": "Amended",
    "invitation.reminder_sent": "Reminder sent",
    "invitation.resend": "Invitation sent again",
    "invitation.unsubscribe": "Customer asked for no more reminders",
    "console.view_mandate": "Staff opened this page",
    "console.download_pdf": "Staff downloaded the PDF",
    "console.view_pdf": "Staff viewed the PDF",
    "console.download_pain012": "Staff downloaded the pain.012",
    "console.reveal_iban": "Staff revealed the IBAN",
    "console.replay_webhook": "Staff replayed a webhook",
}


@dataclass
class Entry:
    """One line of the timeline; ``delivery`` set for a webhook delivery (replayable)."""

    at: datetime
    source: str
    title: str
    detail: str = ""
    actor: str = ""
    delivery: WebhookDelivery | None = None
    event: Event | None = None
    raw: dict[str, Any] | None = None


def _money(cents: int) -> str:
    return f"€ {cents / 100:,.2f}"


def _at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _audit(events: list[AuditEvent]) -> list[Entry]:
    entries = []
    for event in events:
        data = event.data or {}
        detail = ", ".join(f"{key}: {data[key]}" for key in ("reason", "invitation", "payment",
                                                            "transaction", "channel")
                           if data.get(key))
        entries.append(Entry(event.occurred_at, "audit",
                             AUDIT_TITLES.get(event.action, event.action), detail,
                             actor=event.actor, raw={"seq": event.seq, "action": event.action,
                                                     "subject": event.subject, **data}))
    return entries


def _invitations(invitations: list[Invitation], now: datetime) -> list[Entry]:
    entries = []
    for invitation in invitations:
        what = f"{invitation.public_id} ({invitation.purpose.value})"
        entries.append(Entry(invitation.created_at, "invitation", "Invitation created", what))
        if invitation.sent_at:
            entries.append(Entry(invitation.sent_at, "invitation",
                                 f"Invitation sent by {invitation.channel.value}", what))
        if invitation.delivery_error:
            entries.append(Entry(invitation.sent_at or invitation.created_at, "invitation",
                                 "Invitation could not be delivered",
                                 invitation.delivery_error))
        if invitation.opened_at:
            entries.append(Entry(invitation.opened_at, "invitation", "Customer opened the link",
                                 what))
        if invitation.used_at:
            entries.append(Entry(invitation.used_at, "invitation", "Link used to sign", what))
        elif invitation.withdrawn_at:
            entries.append(Entry(invitation.withdrawn_at, "invitation", "Invitation withdrawn",
                                 what))
        elif invitation.expires_at <= now:
            entries.append(Entry(invitation.expires_at, "invitation",
                                 "Invitation expired unsigned", what))
    return entries


def _payments(payments: list[VerificationPayment]) -> list[Entry]:
    entries = []
    for payment in payments:
        what = f"{payment.public_id}, {_money(payment.amount_cents)} via {payment.provider}"
        entries.append(Entry(payment.created_at, "payment", "Verification payment started", what))
        for step in payment.status_history or []:
            at = _at(step.get("at"))
            if at is not None and step.get("status") not in (None, "open"):
                entries.append(Entry(at, "payment",
                                     f"Verification payment {step['status']}",
                                     f"{payment.public_id} ({step.get('source', '')})"))
    return entries


def _bank(transactions: list[BankTransaction]) -> list[Entry]:
    entries = []
    for transaction in transactions:
        what = f"{transaction.public_id} at {transaction.debtor_bic} ({transaction.kind})"
        entries.append(Entry(transaction.created_at, "bank", "Signing at the bank started", what))
        for step in transaction.status_history or []:
            at = _at(step.get("at"))
            if at is not None:
                entries.append(Entry(at, "bank", f"Bank status {step.get('status')}", what))
        if transaction.outcome not in ("open", "pending") and transaction.reason:
            entries.append(Entry(transaction.updated_at, "bank",
                                 f"Bank outcome {transaction.outcome}", transaction.reason))
    return entries


def _debits(debits: list[Debit]) -> list[Entry]:
    entries = []
    for debit in debits:
        what = f"{debit.public_id}, {_money(debit.amount_cents)}: {debit.description}"
        entries.append(Entry(debit.created_at, "debit",
                             f"Debit scheduled for {debit.collection_date.isoformat()}", what))
        for attempt in debit.attempts:
            entries.append(Entry(attempt.created_at, "debit",
                                 f"Collection attempt {attempt.number} sent "
                                 f"({attempt.sequence_type.value})", what))
            if attempt.outcome is not None:
                reason = " ".join(filter(None, (attempt.reason_code, attempt.reason_text)))
                entries.append(Entry(attempt.settled_at or attempt.created_at, "debit",
                                     f"Attempt {attempt.number} {attempt.outcome.value}",
                                     f"{debit.public_id}{': ' + reason if reason else ''}"))
    return entries


def _deliveries(deliveries: list[WebhookDelivery]) -> list[Entry]:
    entries = []
    for delivery in deliveries:
        last = delivery.attempts[-1] if delivery.attempts else None
        detail = (f"{delivery.status.value}, {delivery.attempt_count} attempt(s)"
                  + (f", last answer {last.http_status or last.error}"
                     f"{f' in {last.latency_ms} ms' if last.latency_ms is not None else ''}"
                     if last else ""))
        entries.append(Entry(delivery.created_at, "webhook",
                             f"Webhook {delivery.event.type}", detail, delivery=delivery,
                             event=delivery.event))
    return entries


def build_timeline(session: Session, *, mandate_id: int, invitations: list[Invitation],
                   payments: list[VerificationPayment], audit_events: list[AuditEvent],
                   events: list[Event], transactions: list[BankTransaction],
                   now: datetime) -> list[Entry]:
    """Every entry, oldest first (on a tie: the order the sources are listed in)."""
    debits = list(session.scalars(select(Debit).options(selectinload(Debit.attempts))
                                  .where(Debit.mandate_id == mandate_id).order_by(Debit.id)))
    deliveries = list(session.scalars(
        select(WebhookDelivery).options(selectinload(WebhookDelivery.attempts),
                                        selectinload(WebhookDelivery.event))
        .where(WebhookDelivery.event_id.in_([event.id for event in events]))
        .order_by(WebhookDelivery.id))) if events else []
    entries = [*_audit(audit_events), *_invitations(invitations, now), *_payments(payments),
               *_bank(transactions), *_debits(debits), *_deliveries(deliveries)]
    order = {"audit": 0, "invitation": 1, "payment": 2, "bank": 3, "debit": 4, "webhook": 5}
    return sorted(entries, key=lambda entry: (entry.at, order[entry.source]))
