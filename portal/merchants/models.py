"""The merchant: a SEPA creditor with its branding, embedding and webhook settings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import encrypted
from portal.db import Base

if TYPE_CHECKING:
    from portal.mandates.models import Customer, Mandate


class Merchant(Base):
    __tablename__ = "merchant"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id used in URLs and the API (``mer_…``).
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Legal identity, as printed on mandates.
    legal_name: Mapped[str] = mapped_column(String(140))
    address_line: Mapped[str] = mapped_column(String(140))
    postal_code: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(70))
    country: Mapped[str] = mapped_column(String(2))
    #: SEPA creditor identifier, validated (ISO 7064 mod 97-10) and stored normalised.
    creditor_id: Mapped[str] = mapped_column(String(35), unique=True)
    #: Branding shown to customers: name, logo bytes, ``#rrggbb`` colour, default locale.
    display_name: Mapped[str] = mapped_column(String(70))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(String(40))
    primary_colour: Mapped[str] = mapped_column(String(7), default="#1f4b99")
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    #: Origins (``https://shop.example``) allowed to frame the signing and checkout pages.
    frame_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Webhook endpoint and its signing secret (``whsec_…``); the previous secret stays valid
    #: during a rotation overlap. Both secrets are encrypted at rest (``portal.webhooks.secrets``).
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(
        Text, info=encrypted("merchant.webhook_secret"))
    webhook_previous_secret: Mapped[str | None] = mapped_column(
        Text, info=encrypted("merchant.webhook_previous_secret"))
    webhook_previous_secret_expires_at: Mapped[datetime | None]
    #: Set when deliveries stopped after sustained failure; enabling clears it and resumes.
    webhook_disabled_at: Mapped[datetime | None]
    #: Where operational notices go (e.g. the webhook endpoint was disabled).
    contact_email: Mapped[str | None] = mapped_column(String(254))
    #: Where customers' replies to invitation and reminder mails go (else ``contact_email``).
    reply_to_email: Mapped[str | None] = mapped_column(String(254))
    #: The name customer mail is sent under (else ``display_name``).
    mail_from_name: Mapped[str | None] = mapped_column(String(70))
    #: The alphanumeric sender of texts (at most 11 letters and digits; else the portal's
    #: ``SMS_ORIGINATOR``).
    sms_sender_id: Mapped[str | None] = mapped_column(String(11))
    #: Days after sending an invitation to remind an unsigned customer; None: the portal's
    #: ``REMINDER_DAYS``, ``[]``: no reminders.
    reminder_days: Mapped[list[int] | None] = mapped_column(JSON)
    #: How this merchant's debtors may sign Core mandates unless an invitation says otherwise
    #: (``payment_verification``, ``bank_emandate``); None: the one-cent payment only.
    signing_methods: Mapped[list[str] | None] = mapped_column(JSON)
    #: Refund the one-cent verification payment once the mandate is active (the signing page
    #: then says so).
    refund_verification: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Payment request reminders, in days relative to the due date (``-3``: three days before,
    #: ``0``: on it, ``7``: a week after); None: the portal's ``PAYMENT_REMINDER_DAYS``.
    payment_reminder_days: Mapped[list[int] | None] = mapped_column(JSON)
    #: Checkout pages offer "pay this and future invoices by direct debit" unless a request
    #: says otherwise.
    offer_mandate_at_checkout: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    customers: Mapped[list[Customer]] = relationship(back_populates="merchant")
    mandates: Mapped[list[Mandate]] = relationship(back_populates="merchant")

    @property
    def address_lines(self) -> tuple[str, ...]:
        return (self.address_line, f"{self.postal_code} {self.city}".strip(), self.country)
