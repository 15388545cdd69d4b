"""The JSON representation of every API object, in one place: the webhook payloads reuse it,
so nothing here needs a request (URLs come from ``PUBLIC_BASE_URL``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.orm import object_session

from portal.clock import wire_time
from portal.documents.models import MandatePdf
from portal.emandates.models import BankTransaction
from portal.emandates.service import latest_transaction
from portal.events.models import Event
from portal.mandates.links import Links
from portal.mandates.models import (
    Customer,
    Invitation,
    InvitationChannel,
    Mandate,
    MandateStatus,
)
from portal.mandates.schedule import reminder_days
from portal.shortlinks.service import short_link_of

API_PREFIX = "/api/v1"


def api_base_url() -> str:
    """Absolute base of the API; built from ``PUBLIC_BASE_URL`` so it works outside requests
    (webhook jobs) too."""
    return current_app.config["PUBLIC_BASE_URL"] + API_PREFIX


def timestamp(moment: datetime | None) -> str | None:
    """:func:`portal.clock.wire_time`, or None."""
    return None if moment is None else wire_time(moment)


#: Where each kind of object the API creates can be read back.
_COLLECTIONS = {"invitation": "invitations", "mandate": "mandates",
                "payment_request": "payment-requests", "refund": "refunds",
                "invoice": "invoices", "plan": "plans", "subscription": "subscriptions"}


def created_location(body: dict[str, Any], posted_to: str) -> str | None:
    """The URL of the object a ``201 Created`` body describes (its ``Location``): its own
    collection, or for an object read under its parent (a request's payment) the collection it
    was posted to (``posted_to``, the request path)."""
    if not body.get("id"):
        return None
    collection = _COLLECTIONS.get(str(body.get("object")))
    if collection is None:
        return f"{current_app.config['PUBLIC_BASE_URL']}{posted_to.rstrip('/')}/{body['id']}"
    return f"{api_base_url()}/{collection}/{body['id']}"


def customer_json(customer: Customer) -> dict[str, Any]:
    return {"id": customer.public_id, "name": customer.name, "email": customer.email,
            "external_reference": customer.external_reference}


def invitation_status(invitation: Invitation, now: datetime) -> str:
    """Where the invitation stands, in the order the signing page checks it."""
    if invitation.withdrawn_at is not None:
        return "withdrawn"
    if invitation.used_at is not None or invitation.mandate.status == MandateStatus.ACTIVE:
        return "used"
    if invitation.mandate.status == MandateStatus.EXPIRED:  # expired unsigned (the expiry job)
        return "expired"
    if invitation.mandate.status not in (MandateStatus.INVITED,
                                         MandateStatus.AWAITING_VERIFICATION):
        return "closed"
    if invitation.expires_at <= now:
        return "expired"
    return "opened" if invitation.opened_at is not None else "pending"


def invitation_json(invitation: Invitation, now: datetime) -> dict[str, Any]:
    config = current_app.config
    links = Links.from_config(config)
    signing_url = links.invitation_url(invitation.public_id, invitation.expires_at)
    session = object_session(invitation)
    link = short_link_of(session, invitation) if session is not None else None
    return {
        "id": invitation.public_id,
        "object": "invitation",
        "status": invitation_status(invitation, now),
        "mandate": invitation.mandate.public_id,
        "customer": customer_json(invitation.mandate.customer),
        "purpose": invitation.purpose.value,
        "signing_methods": list(invitation.signing_methods),
        "send_via": invitation.channel.value,
        "signing_url": signing_url,
        "qr_png_url": f"{signing_url}/qr.png",
        "qr_svg_url": f"{signing_url}/qr.svg",
        "short_url": links.short_url(link.code) if link else None,
        "delivery_status": invitation.delivery_status.value if invitation.delivery_status
        else None,
        "delivery_error": invitation.delivery_error,
        "sent_at": timestamp(invitation.sent_at),
        "reminder_days": reminder_days(invitation.merchant, config["REMINDER_DAYS"])
        if invitation.channel != InvitationChannel.NONE else [],
        "unsubscribed_at": timestamp(invitation.unsubscribed_at),
        "expires_at": timestamp(invitation.expires_at),
        "opened_at": timestamp(invitation.opened_at),
        "withdrawn_at": timestamp(invitation.withdrawn_at),
        "return_url": invitation.return_url,
        "created_at": timestamp(invitation.created_at),
    }


def pdf_json(mandate: Mandate, pdf: MandatePdf | None) -> dict[str, Any]:
    """``ready`` once sealed and stored; ``pending`` between activation and then."""
    if pdf is not None:
        return {"status": "ready", "sha256": pdf.sha256,
                "url": f"{api_base_url()}/mandates/{mandate.public_id}/pdf"}
    status = "pending" if mandate.signed_at is not None else "not_applicable"
    return {"status": status, "sha256": None, "url": None}


def bank_outcome_json(transaction: BankTransaction | None) -> dict[str, Any] | None:
    """The latest signing, amendment or cancellation at the debtor's bank, or None."""
    if transaction is None:
        return None
    return {"transaction": transaction.public_id, "kind": transaction.kind,
            "status": transaction.outcome, "reason": transaction.reason,
            "debtor_bank": transaction.debtor_bic,
            "validation_reference": transaction.validation_reference,
            "created_at": timestamp(transaction.created_at),
            "updated_at": timestamp(transaction.updated_at)}


_UNSET: Any = object()


def mandate_json(mandate: Mandate, pdf: MandatePdf | None,
                 bank: BankTransaction | None = _UNSET) -> dict[str, Any]:
    """``bank``: the mandate's latest bank transaction, when the caller fetched it already."""
    if bank is _UNSET:
        session = object_session(mandate)
        bank = latest_transaction(session, mandate) if session is not None else None
    return {
        "id": mandate.public_id,
        "object": "mandate",
        "status": mandate.status.value,
        "scheme": mandate.scheme.value,
        "sequence_type": mandate.sequence_type.value,
        "reference": mandate.reference,
        "customer": customer_json(mandate.customer),
        "debtor_name": mandate.debtor_name,
        "iban_masked": mandate.iban_masked,
        "bic": mandate.bic,
        "signed_at": timestamp(mandate.signed_at),
        "signing_method": mandate.signing_method.value if mandate.signing_method else None,
        "signer_name": mandate.signer_name,
        "validation_reference": mandate.validation_reference,
        "max_amount_cents": mandate.max_amount_cents,
        "reason": mandate.reason,
        "bank_outcome": bank_outcome_json(bank),
        "created_at": timestamp(mandate.created_at),
        "pdf": pdf_json(mandate, pdf),
    }


def event_json(event: Event) -> dict[str, Any]:
    return {"id": event.public_id, "object": "event", "type": event.type,
            "created_at": timestamp(event.created_at), "data": event.data}


def list_json(items: list[dict[str, Any]], has_more: bool, next_cursor: str | None
              ) -> dict[str, Any]:
    return {"object": "list", "data": items, "has_more": has_more, "next_cursor": next_cursor}


def payment_json(payment: Any) -> dict[str, Any]:
    return {
        "id": payment.public_id, "object": "payment", "status": payment.status.value,
        "source": payment.source.value, "method": payment.method, "sequence": payment.sequence,
        "amount": payment.amount_cents, "refunded_amount": payment.refunded_cents,
        "charged_back_amount": payment.charged_back_cents,
        "payer_name": payment.payer_name, "payer_iban_masked": payment.payer_iban_masked,
        "failure_reason": payment.failure_reason, "late": payment.late,
        "double_payment": payment.double,
        "sets_up": payment.sets_up.value if payment.sets_up else None,
        "mandate": payment.mandate.public_id if payment.mandate else None,
        "stored_mandate": payment.stored_mandate.public_id if payment.stored_mandate else None,
        "reference": payment.external_reference,
        "paid_at": timestamp(payment.paid_at), "created_at": timestamp(payment.created_at),
    }


def refund_json(refund: Any) -> dict[str, Any]:
    return {
        "id": refund.public_id, "object": "refund", "status": refund.status.value,
        "amount": refund.amount_cents,
        "payment": refund.payment.public_id if refund.payment else None,
        "payment_request": refund.request.public_id if refund.request else None,
        "description": refund.description, "automatic": refund.automatic,
        "failure_reason": refund.failure_reason, "created_at": timestamp(refund.created_at),
        "updated_at": timestamp(refund.updated_at),
    }


def payment_request_json(request: Any) -> dict[str, Any]:
    from portal.payments.links import checkout_url

    link, refunds = request.short_link, request.refunds  # a list loads them for every request
    url = checkout_url(request)
    return {
        "id": request.public_id, "object": "payment_request", "status": request.status.value,
        "amount": request.amount_cents, "currency": request.currency,
        "open_amount": request.open_cents, "paid_amount": request.net_received_cents,
        "refunded_amount": request.refunded_cents,
        "charged_back_amount": request.charged_back_cents,
        "overpaid_amount": request.overpaid_cents,
        "description": request.description, "invoice_number": request.invoice_number,
        "external_reference": request.external_reference,
        "customer": customer_json(request.customer),
        "due_date": request.due_date.isoformat() if request.due_date else None,
        "expires_at": timestamp(request.expires_at),
        "checkout_url": url,
        "short_url": Links.from_config(current_app.config).short_url(link.code) if link else None,
        "qr_png_url": f"{url}/qr.png", "qr_svg_url": f"{url}/qr.svg",
        "methods": request.methods, "allow_partial": request.allow_partial,
        "offer_mandate": request.offer_mandate, "collect": request.collect.value,
        "return_url": request.return_url, "send_via": request.channel,
        "payments": [payment_json(p) for p in request.payments],
        "refunds": [refund_json(r) for r in refunds],
        "created_at": timestamp(request.created_at), "paid_at": timestamp(request.paid_at),
        "expired_at": timestamp(request.expired_at),
        "withdrawn_at": timestamp(request.withdrawn_at),
    }
