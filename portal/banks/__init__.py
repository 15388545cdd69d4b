"""Banks: the eMandates interface (:mod:`.base`), the iDx client (:mod:`.client`) and the
sandbox bank (:mod:`.sandbox`), which the client reaches over HTTP like a real acquirer.

``BANK`` chooses (:mod:`.factory`): ``sandbox`` (development default), ``emandates`` (a real
acquirer, configured by the ``EMANDATES_*`` settings) or ``none``. Built once per app.
"""

from __future__ import annotations

from portal.banks.base import (
    AcceptanceReport,
    Bank,
    BankError,
    BankRefused,
    BankResponseRefused,
    BankUnavailable,
    DebtorBank,
    Directory,
    Product,
    StatusReport,
    TransactionStarted,
    TransactionStatus,
)

__all__ = [
    "AcceptanceReport",
    "Bank",
    "BankError",
    "BankRefused",
    "BankResponseRefused",
    "BankUnavailable",
    "DebtorBank",
    "Directory",
    "Product",
    "StatusReport",
    "TransactionStarted",
    "TransactionStatus",
]
