"""Support staff who may use the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class StaffUser(Base):
    """A person on the operator's support team; created and disabled from the CLI."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id (``stf_…``) used in the session and as the audit subject.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    #: Login name, stored lowercased.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(140))
    #: Werkzeug's scrypt hash (``scrypt:…$salt$hash``).
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    #: Set by ``flask staff disable``: the user can no longer log in, open sessions end.
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.disabled_at is None
