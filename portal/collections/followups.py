"""What follows a debit's last failure, behind small interfaces: the pay link for the open
amount (the checkout's payment request) and the invitation to sign again after AC04."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from portal.mandates.models import InvitationChannel, Scheme, SigningMethod

if TYPE_CHECKING:
    from portal.collections.models import Debit


class PayLinks(Protocol):
    """Issues the checkout's payment request for what a failed debit still owes and sends it
    to the customer (email and SMS); returns its URL, or None where no checkout is available."""

    def issue(self, session: Session, debit: Debit, now: datetime) -> str | None: ...


class NoPayLinks:
    """Until the checkout area (payment requests) is installed: no link, and the failure event
    says so (``pay_link: null``)."""

    def issue(self, session: Session, debit: Debit, now: datetime) -> str | None:
        return None


class AmendmentInvitations(Protocol):
    """After AC04: asks the debtor to sign again with a new account; returns the invitation's
    public id, or None when it cannot be sent."""

    def invite(self, session: Session, debit: Debit, now: datetime) -> str | None: ...


class EmailAmendmentInvitations:
    """A fresh mandate invitation for the same customer and scheme, emailed to them."""

    def invite(self, session: Session, debit: Debit, now: datetime) -> str | None:
        from portal.mail.service import queue_invitation_email
        from portal.mandates.service import InvitationRequest, invite_customer

        old = debit.mandate
        customer = old.customer
        if not customer.email:
            return None
        # A B2B mandate was signed at the debtor's bank (only that makes it collectable), so
        # its replacement is signed there too; a Core one as the merchant's invitations are.
        b2b = old.scheme == Scheme.B2B
        invitation = invite_customer(session, debit.merchant, InvitationRequest(
            customer_name=customer.name, customer_email=customer.email, locale=customer.locale,
            external_reference=customer.external_reference, scheme=old.scheme,
            sequence_type=old.sequence_type, channel=InvitationChannel.EMAIL,
            signing_methods=(SigningMethod.BANK_EMANDATE,) if b2b
            else (SigningMethod.PAYMENT_VERIFICATION,)),
            actor="collections", now=now, customer=customer, bank_available=b2b)
        queue_invitation_email(session, invitation)
        return invitation.public_id


class CheckoutPayLinks:
    """The checkout's payment request for the open amount, sent to the customer by email (or
    by SMS when there is no address but a number); its reminders follow the merchant's
    schedule. The customer pays through the link only (no automatic charge: the mandate just
    failed)."""

    def __init__(self, ttl_days: int, reminder_days: tuple[int, ...], sms_enabled: bool) -> None:
        self.ttl_days = ttl_days
        self.reminder_days = reminder_days
        self.sms_enabled = sms_enabled

    def issue(self, session: Session, debit: Debit, now: datetime) -> str | None:
        from datetime import timedelta

        from portal.payments.links import checkout_url
        from portal.payments.models import Collect
        from portal.payments.service import PaymentSettings, RequestSpec, create_payment_request

        customer = debit.customer
        channel = "email" if customer.email else (
            "sms" if customer.phone and self.sms_enabled else "none")
        request = create_payment_request(
            session, debit.merchant,
            RequestSpec(amount_cents=debit.amount_cents, description=debit.description,
                        customer=customer, expires_at=now + timedelta(days=self.ttl_days),
                        invoice_number=debit.invoice_number, collect=Collect.LINK,
                        offer_mandate=False, channel=channel,
                        extra={"debit": debit.public_id}),
            actor="collections", now=now,
            settings=PaymentSettings(reminder_days=self.reminder_days,
                                     sms_enabled=self.sms_enabled))
        debit.payment_request = request.public_id
        return checkout_url(request)
