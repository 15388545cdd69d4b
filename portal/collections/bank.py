"""Route 1's bank interface: where exported pain.008 files go and where the bank's reports come
from; the manual route is the real one, the sandbox bank (:mod:`.sandbox_bank`) its twin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class BankReport:
    """A report file the bank has for a merchant (e.g. the camt.054 of a cleared batch)."""

    merchant_id: int
    path: Path


class BankRoute(Protocol):
    """Where exported pain.008 files go and where the bank's reports come from."""

    name: str

    def deliver(self, session: Session, batch: Any, path: Path, now: datetime) -> None:
        """Hand an exported, validated file to the bank (or leave it for the merchant)."""
        ...

    def reports_due(self, session: Session, today: date, now: datetime) -> list[BankReport]:
        """Reports the bank has produced by ``today`` that the portal has not imported."""
        ...


class ManualBank:
    """The real route: the merchant downloads each file and uploads it in its bank's portal, and
    imports the bank's reports through the API or the CLI."""

    name = "manual"

    def deliver(self, session: Session, batch: Any, path: Path, now: datetime) -> None:
        return None

    def reports_due(self, session: Session, today: date, now: datetime) -> list[BankReport]:
        return []
