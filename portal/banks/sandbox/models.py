"""Transactions held by the sandbox bank (its side of iDx; the portal keeps its own record)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import encrypted
from portal.db import Base

#: Associated data of the sandbox bank's encrypted fields: the pain.009/010/011 it received
#: (an amendment or cancellation names the debtor's IBAN), the account the debtor gave on its
#: page, and the pain.012 it built. The sandbox keeps IBANs at rest like the portal does.
REQUEST_CONTEXT = "sandbox_bank_transaction.request"
DEBTOR_IBAN_CONTEXT = "sandbox_bank_transaction.debtor_iban"
REPORT_CONTEXT = "sandbox_bank_transaction.report"


class SandboxBankTransaction(Base):
    __tablename__ = "sandbox_bank_transaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The 16-digit id the acquirer hands out, and the secret in the authorisation page's URL.
    transaction_id: Mapped[str] = mapped_column(String(16), unique=True)
    page_token: Mapped[str] = mapped_column(String(43))
    product: Mapped[str] = mapped_column(String(40))
    #: Which request it is: ``pain009`` (new), ``pain010`` (amendment), ``pain011`` (cancel).
    kind: Mapped[str] = mapped_column(String(8))
    merchant_id: Mapped[str] = mapped_column(String(10))
    sub_id: Mapped[int] = mapped_column(Integer)
    issuer_bic: Mapped[str] = mapped_column(String(11))
    return_url: Mapped[str] = mapped_column(String(512))
    entrance_code: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(2))
    #: The pain document as received (schema-valid, under a verified signature), encrypted.
    request_ciphertext: Mapped[str] = mapped_column(Text, info=encrypted(REQUEST_CONTEXT))
    mandate_reference: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: What the debtor chose on the bank's page: approved, rejected, not_authorised, failed.
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None]
    debtor_name: Mapped[str | None] = mapped_column(String(140))
    debtor_iban_ciphertext: Mapped[str | None] = mapped_column(
        Text, info=encrypted(DEBTOR_IBAN_CONTEXT))
    signer_name: Mapped[str | None] = mapped_column(String(70))
    #: The pain.012 once built (built once, so every status answer carries the same report),
    #: encrypted.
    report_ciphertext: Mapped[str | None] = mapped_column(Text, info=encrypted(REPORT_CONTEXT))
