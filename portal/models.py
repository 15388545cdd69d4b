"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from portal.audit.models import AuditChainHead, AuditEvent
from portal.db import Base
from portal.events.models import Event
from portal.mandates.models import Customer, Invitation, Mandate
from portal.merchants.models import Merchant

__all__ = ["AuditChainHead", "AuditEvent", "Base", "Customer", "Event", "Invitation", "Mandate",
           "Merchant"]
