"""Who may open which console page: one table of permissions per role, one guard for every view.

Each console view declares what it needs with :func:`requires` (or :func:`public`,
:func:`second_factor_step`); the blueprint's ``before_request`` (:func:`check_access`) applies
the declaration, and refuses a view that declares nothing. A view of a merchant's data finds it
through :class:`Scope`, so another merchant's ids answer 404, exactly as ids that do not exist.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, true

from portal.console.models import StaffRole, StaffUser


class Permission(enum.Enum):
    #: Read every page of the staff member's merchants: mandates, search, the dashboard.
    READ = "read"
    RESEND_INVITATION = "resend_invitation"
    #: Send a payment request's link to the customer again.
    RESEND_PAYMENT_REQUEST = "resend_payment_request"
    REPLAY_WEBHOOK = "replay_webhook"
    #: Change a merchant's settings.
    SETTINGS = "settings"
    #: The merchant's work: invite, ask for payment, debit, invoice, subscribe; withdraw, revoke.
    WORK = "work"
    #: Invite staff and see who works for the merchant.
    STAFF = "staff"
    #: What concerns the whole platform: staff of any merchant, platform admins.
    PLATFORM = "platform"
    #: One's own account (password, logout): every signed-in staff member.
    OWN_ACCOUNT = "own_account"
    #: Upload CSV batches and import them (invitations, requests, invoices, mandates).
    BATCHES = "batches"


_SUPPORT = frozenset({Permission.OWN_ACCOUNT, Permission.READ, Permission.RESEND_INVITATION,
                      Permission.RESEND_PAYMENT_REQUEST, Permission.REPLAY_WEBHOOK})
ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.SUPPORT: _SUPPORT,
    StaffRole.MERCHANT_ADMIN: _SUPPORT | {Permission.SETTINGS, Permission.STAFF, Permission.WORK,
                                          Permission.BATCHES},
    StaffRole.PLATFORM_ADMIN: frozenset(Permission),
}


def may(staff: StaffUser, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[staff.role]


@dataclass(frozen=True)
class Scope:
    """The merchants a staff member sees: ``None`` for every one (platform admin)."""

    merchant_ids: frozenset[int] | None

    @classmethod
    def of(cls, staff: StaffUser) -> Scope:
        if staff.role is StaffRole.PLATFORM_ADMIN:
            return cls(None)
        return cls(staff.merchant_ids)

    def covers(self, merchant_id: int | None) -> bool:
        return self.merchant_ids is None or merchant_id in self.merchant_ids

    def condition(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose merchant ``column`` is in scope."""
        if self.merchant_ids is None:
            return true()
        return column.in_(sorted(self.merchant_ids))


class Stage(enum.Enum):
    """How far a visitor must have signed in to open a view."""

    #: Anyone: the login, the OpenID return, an invitation's acceptance.
    PUBLIC = "public"
    #: A password was given and the second factor is due (TOTP enrolment or code).
    SECOND_FACTOR = "second_factor"
    #: Fully signed in, with the declared permission.
    SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class Access:
    stage: Stage
    permission: Permission | None = None


ACCESS_ATTRIBUTE = "console_access"
View = TypeVar("View", bound=Callable[..., Any])


def _declare(access: Access) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        setattr(view, ACCESS_ATTRIBUTE, access)
        return view
    return decorate


def requires(permission: Permission) -> Callable[[View], View]:
    """The view needs a full sign-in and this permission (else 403). A ``merchant_id`` in its
    URL must be one of the staff member's merchants (else 404)."""
    return _declare(Access(Stage.SIGNED_IN, permission))


def public(view: View) -> View:
    return _declare(Access(Stage.PUBLIC))(view)


def second_factor_step(view: View) -> View:
    """The view belongs to the second-factor step: it opens with a session still waiting for
    one (and, like logout, also with a full one)."""
    return _declare(Access(Stage.SECOND_FACTOR))(view)


def access_of(view: Callable[..., Any] | None) -> Access | None:
    return getattr(view, ACCESS_ATTRIBUTE, None)
