"""Invitations: create (and optionally email or text) a signing link, read it, withdraw it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, current_app, g
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, invalid_state, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.inputs import CREATE_FIELDS, MAX_DAYS
from portal.api.serializers import invitation_json
from portal.api.validation import validate_body, validation_problem
from portal.db import get_session
from portal.errors import Problem
from portal.mail.service import queue_invitation_email
from portal.mandates.lifecycle import IllegalTransition
from portal.mandates.models import (
    Invitation,
    InvitationChannel,
    Scheme,
    SequenceType,
    SigningMethod,
)
from portal.mandates.service import (
    InvitationRequest,
    find_invitation,
    invite_customer,
    withdraw_invitation,
)
from portal.mandates.signing_methods import (
    SchemeNotOffered,
    SigningMethodError,
    signing_methods_for,
)
from portal.merchants.models import Merchant
from portal.sms.phone import can_receive_sms
from portal.sms.service import queue_invitation_sms


def _expiry(data: dict[str, Any], now: datetime) -> datetime:
    if "expires_at" in data and "expires_in_days" in data:
        raise validation_problem([
            {"field": name, "message": "Give either expires_at or expires_in_days, not both."}
            for name in ("expires_at", "expires_in_days")])
    if "expires_in_days" in data:
        return now + timedelta(days=data["expires_in_days"])
    if "expires_at" not in data:
        return now + timedelta(days=int(current_app.config["INVITATION_TTL_DAYS"]))
    expires_at: datetime = data["expires_at"]
    if expires_at <= now:
        raise validation_problem([{"field": "expires_at", "message": "Must be in the future."}])
    if expires_at > now + timedelta(days=MAX_DAYS):
        raise validation_problem([{"field": "expires_at",
                                   "message": f"Must be at most {MAX_DAYS} days ahead."}])
    return expires_at


def _channel(data: dict[str, Any]) -> InvitationChannel:
    channel = InvitationChannel(data.get("send_via", InvitationChannel.NONE.value))
    if channel is InvitationChannel.SMS:
        if get_adapters().sms is None:
            raise Problem(422, "SMS delivery is not configured",
                          "This portal does not send text messages; use email or none.",
                          type="sms-not-configured", errors=[
                              {"field": "send_via", "message": "SMS delivery is not configured."}])
        phone = data["customer"].get("phone")
        if not phone:
            raise validation_problem([{"field": "customer.phone",
                                       "message": "Required when send_via is sms."}])
        if not can_receive_sms(phone):
            raise validation_problem([{"field": "customer.phone",
                                       "message": "This number cannot receive text messages."}])
    if channel is InvitationChannel.EMAIL and not data["customer"].get("email"):
        raise validation_problem([{"field": "customer.email",
                                   "message": "Required when send_via is email."}])
    return channel


def _signing(data: dict[str, Any], merchant: Merchant, bank_available: bool
             ) -> tuple[Scheme, tuple[SigningMethod, ...]]:
    """The scheme and how it may be signed here (:mod:`portal.mandates.signing_methods`): 422
    ``scheme-not-offered`` for B2B without bank signing, 422 on ``signing_methods`` for a method
    that cannot sign the scheme (B2B with the one-cent payment)."""
    scheme = Scheme(data.get("scheme", Scheme.CORE.value))
    if "max_amount_cents" in data and scheme is not Scheme.B2B:
        raise validation_problem([{"field": "max_amount_cents",
                                   "message": "Only B2B mandates carry a maximum amount."}])
    try:
        methods = signing_methods_for(scheme, data.get("signing_methods"),
                                      merchant.signing_methods,
                                      bank_available=bank_available)
    except SchemeNotOffered as exc:
        raise Problem(422, "Scheme not offered", str(exc), type="scheme-not-offered",
                      errors=[{"field": "scheme", "message": str(exc)}]) from None
    except SigningMethodError as exc:
        raise validation_problem([{"field": "signing_methods", "message": str(exc)}]) from None
    return scheme, methods


def invite_from_body(session: Session, merchant: Merchant, data: dict[str, Any], *,
                     actor: str, now: datetime) -> Invitation:
    """The invitation a validated ``CREATE_FIELDS`` body asks for, sent the way it says; a 422
    :class:`Problem` naming the field at fault. The API and the console both create them so."""
    expires_at = _expiry(data, now)
    channel = _channel(data)
    customer = data["customer"]
    bank_available = get_adapters().bank is not None
    scheme, methods = _signing(data, merchant, bank_available)
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
