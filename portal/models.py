"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from portal.api.models import ApiClient, ApiToken, IdempotencyKey  # noqa: F401
from portal.audit.models import AuditChainHead, AuditEvent
from portal.banks.models import BankDirectory  # noqa: F401
from portal.banks.sandbox.models import SandboxBankTransaction  # noqa: F401
from portal.batches.models import (  # noqa: F401
    CsvBatch,
    CsvBatchChunk,
    CsvBatchError,
    ImportedMandate,
)
from portal.bookkeeping.models import ProviderSettlement, SettlementShare  # noqa: F401
from portal.collections.models import (  # noqa: F401
    Batch,
    CollectionFlag,
    CollectionSettings,
    Debit,
    DebitAttempt,
    ReturnImport,
    SandboxBankEntry,
    SandboxBankFile,
)
from portal.console.models import ConsoleSession, LoginThrottle, StaffUser  # noqa: F401
from portal.db import Base
from portal.documents.models import MandatePdf
from portal.emandates.models import BankTransaction  # noqa: F401
from portal.events.models import Event
from portal.invoices.models import (  # noqa: F401
    Invoice,
    InvoiceLine,
    InvoicePayment,
    InvoiceSequence,
    InvoiceSettings,
)
from portal.jobs.models import Job
from portal.mandates.models import Customer, Invitation, Mandate
from portal.merchants.models import Merchant
from portal.payments.models import (  # noqa: F401
    Chargeback,
    Payment,
    PaymentMessage,
    PaymentRequest,
    ProviderMandate,
    Refund,
)
from portal.sandbox.models import (  # noqa: F401
    SandboxChargeback,
    SandboxMandate,
    SandboxPayment,
    SandboxRefund,
)
from portal.shortlinks.models import ShortLink  # noqa: F401
from portal.subscriptions.models import (  # noqa: F401
    Plan,
    Subscription,
    SubscriptionPause,
    SubscriptionPeriod,
)
from portal.verification.models import VerificationPayment
from portal.webhooks.models import WebhookAttempt, WebhookDelivery  # noqa: F401

__all__ = ["AuditChainHead", "AuditEvent", "Base", "Customer", "Event", "Invitation", "Job",
           "Mandate", "MandatePdf", "Merchant", "SandboxPayment", "VerificationPayment"]
