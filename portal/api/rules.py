"""The rules a create request meets beyond its field specs (:mod:`portal.api.inputs`): when it
expires, how it is sent, which scheme it is signed for and how, which customer it is for.

One place for the API views (their ``*_from_body``, which the console's work pages call too)
and the CSV batches (:mod:`portal.batches.kinds`, which check every row before writing any).
Each refusal is a 422 :class:`~portal.errors.Problem` whose ``errors`` name the body's fields;
the batches report them under the columns those fields came from. Nothing here reads the app:
the defaults and what is available are arguments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from portal.api.validation import validation_problem
from portal.errors import Problem
from portal.mandates.models import InvitationChannel, Scheme, SigningMethod
from portal.mandates.signing_methods import (
    SchemeNotOffered,
    SigningMethodError,
    signing_methods_for,
)
from portal.sms.phone import can_receive_sms


def link_expiry(data: dict[str, Any], now: datetime, *, default_days: int,
           max_days: int) -> datetime:
    """When the link stops working: ``expires_at`` or ``expires_in_days`` (not both), else
    ``default_days`` from now; in the future and at most ``max_days`` ahead."""
    if "expires_at" in data and "expires_in_days" in data:
        raise validation_problem([
            {"field": name, "message": "Give either expires_at or expires_in_days, not both."}
            for name in ("expires_at", "expires_in_days")])
    if "expires_in_days" in data:
        return now + timedelta(days=data["expires_in_days"])  # its field spec caps it
    if "expires_at" not in data:
        return now + timedelta(days=default_days)
    expires_at: datetime = data["expires_at"]
    if expires_at <= now:
        raise validation_problem([{"field": "expires_at", "message": "Must be in the future."}])
    if expires_at > now + timedelta(days=max_days):
        raise validation_problem([{"field": "expires_at",
                                   "message": f"Must be at most {max_days} days ahead."}])
    return expires_at


def delivery_channel(send_via: str | None, *, email: str | None, phone: str | None,
            sms_available: bool, check_contact: bool = True) -> InvitationChannel:
    """How the link is sent (``none`` when not given). SMS needs the portal to send text
    messages and a number that can receive them; email needs an address. ``check_contact``
    False skips the address and number, for a customer not yet looked up."""
    chosen = InvitationChannel(send_via or InvitationChannel.NONE.value)
    if chosen is InvitationChannel.SMS:
        if not sms_available:
            raise Problem(422, "SMS delivery is not configured",
                          "This portal does not send text messages; use email or none.",
                          type="sms-not-configured", errors=[
                              {"field": "send_via", "message": "SMS delivery is not configured."}])
        if check_contact and not phone:
            raise validation_problem([{"field": "customer.phone",
                                       "message": "Required when send_via is sms."}])
        if check_contact and not can_receive_sms(phone or ""):
            raise validation_problem([{"field": "customer.phone",
                                       "message": "This number cannot receive text messages."}])
    if chosen is InvitationChannel.EMAIL and check_contact and not email:
        raise validation_problem([{"field": "customer.email",
                                   "message": "Required when send_via is email."}])
    return chosen


def scheme_and_methods(data: dict[str, Any], offered: Sequence[str] | None, *,
                       bank_available: bool) -> tuple[Scheme, tuple[SigningMethod, ...]]:
    """The scheme and how it may be signed here (:mod:`portal.mandates.signing_methods`):
    ``scheme-not-offered`` for B2B without bank signing, an error on ``signing_methods`` for a
    method that cannot sign the scheme; a maximum amount on B2B only."""
    scheme = Scheme(data.get("scheme", Scheme.CORE.value))
    if "max_amount_cents" in data and scheme is not Scheme.B2B:
        raise validation_problem([{"field": "max_amount_cents",
                                   "message": "Only B2B mandates carry a maximum amount."}])
    try:
        methods = signing_methods_for(scheme, data.get("signing_methods"), offered,
                                      bank_available=bank_available)
    except SchemeNotOffered as exc:
        raise Problem(422, "Scheme not offered", str(exc), type="scheme-not-offered",
                      errors=[{"field": "scheme", "message": str(exc)}]) from None
    except SigningMethodError as exc:
        raise validation_problem([{"field": "signing_methods", "message": str(exc)}]) from None
    return scheme, methods


def one_customer(data: dict[str, Any]) -> None:
    """A new customer (``customer``) or an existing one (``customer_id``): exactly one."""
    if ("customer" in data) == ("customer_id" in data):
        raise validation_problem([{"field": name, "message": "Give exactly one of customer "
                                   "and customer_id."} for name in ("customer", "customer_id")])


def due_by_expiry(data: dict[str, Any], expires_at: datetime) -> None:
    """A payment request is not due after its link stops taking payments."""
    if "due_date" in data and data["due_date"] > expires_at.date():
        raise validation_problem([{"field": "due_date",
                                   "message": "Must not be after the request expires."}])
