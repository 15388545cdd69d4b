"""Invitations: create (and optionally email or text) a signing link, read it, withdraw it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, g
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, invalid_state, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.inputs import CREATE_FIELDS, MAX_DAYS
from portal.api.rules import delivery_channel, link_expiry, scheme_and_methods
from portal.api.serializers import invitation_json
from portal.api.validation import validate_body
from portal.db import get_session
from portal.mail.service import queue_invitation_email
from portal.mandates.lifecycle import IllegalTransition
from portal.mandates.models import Invitation, InvitationChannel, SequenceType
from portal.mandates.service import (
    InvitationRequest,
    find_invitation,
    invite_customer,
    withdraw_invitation,
)
from portal.merchants.models import Merchant
from portal.sms.service import queue_invitation_sms


def invite_from_body(session: Session, merchant: Merchant, data: dict[str, Any], *,
                     actor: str, now: datetime) -> Invitation:
    """The invitation a validated ``CREATE_FIELDS`` body asks for, sent the way it says; a 422
    :class:`Problem` naming the field at fault. The API and the console both create them so."""
    expires_at = link_expiry(data, now, max_days=MAX_DAYS,
                              default_days=int(current_app.config["INVITATION_TTL_DAYS"]))
    customer = data["customer"]
    channel = delivery_channel(data.get("send_via"), email=customer.get("email"),
                            phone=customer.get("phone"),
                            sms_available=get_adapters().sms is not None)
    bank_available = get_adapters().bank is not None
    scheme, methods = scheme_and_methods(data, merchant.signing_methods,
                                               bank_available=bank_available)
    invitation = invite_customer(session, merchant, InvitationRequest(
        customer_name=customer["name"], customer_email=customer.get("email"),
        customer_phone=customer.get("phone"), locale=customer.get("locale"),
        external_reference=data.get("external_reference"),
        scheme=scheme, signing_methods=methods,
        max_amount_cents=data.get("max_amount_cents"), reason=data.get("reason"),
        sequence_type=SequenceType(data.get("sequence_type", SequenceType.RECURRENT.value)),
        channel=channel, ttl=expires_at - now, return_url=data.get("return_url")),
        actor=actor, now=now, bank_available=bank_available)
    if channel is InvitationChannel.EMAIL:
        queue_invitation_email(session, invitation)
    elif channel is InvitationChannel.SMS:
        queue_invitation_sms(session, invitation)
    return invitation


@bp.post("/invitations")
@require_scope("mandates:write")
@write_endpoint
def create_invitation(body: Any) -> Response:
    data = validate_body(CREATE_FIELDS, body)
    now = get_adapters().clock()
    session = get_session()
    invitation = invite_from_body(session, session.get(Merchant, merchant_id()), data,
                                  actor=g.api_actor, now=now)
    return json_response(invitation_json(invitation, now), 201)


def _invitation(invitation_id: str) -> Invitation:
    invitation = find_invitation(get_session(), merchant_id(), invitation_id)
    if invitation is None:
        raise not_found("invitation")
    return invitation


@bp.get("/invitations/<invitation_id>")
@require_scope("mandates:read")
def get_invitation(invitation_id: str) -> Response:
    return json_response(invitation_json(_invitation(invitation_id), get_adapters().clock()))


@bp.post("/invitations/<invitation_id>/withdraw")
@require_scope("mandates:write")
@write_endpoint
def withdraw_invitation_view(body: Any, invitation_id: str) -> Response:
    validate_body((), body)
    invitation = _invitation(invitation_id)
    now = get_adapters().clock()
    try:
        withdraw_invitation(get_session(), invitation, actor=g.api_actor, now=now)
    except IllegalTransition as exc:
        raise invalid_state(exc) from None
    return json_response(invitation_json(invitation, now))
