"""Staff invited by email: a signed link that expires and is accepted once, creating the account
with the role and merchants the inviter chose (never more than the inviter may give).

The link is signed (the portal's secret key, its own salt) over the invitation's id and expiry;
the row decides whether it is still open. The mail is sent by a job through the app's mail
transport; the job rebuilds the link from the row, so no link is stored anywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.console.models import StaffInvite, StaffRole, StaffUser
from portal.console.roles import Scope
from portal.console.service import (
    StaffError,
    check_role_merchants,
    create_staff,
    find_merchants,
    find_staff_by_email,
    normalize_email,
)
from portal.db import affected_rows
from portal.ids import looks_like, new_public_id
from portal.jobs.service import enqueue
from portal.mail.messages import MailSettings
from portal.mail.transport import MailTransport
from portal.mandates.links import LinkInvalid, Links, make_invitation_token, read_invitation_token
from portal.merchants.models import Merchant

INVITE_JOB = "console.staff_invite"
SALT = "portal.console-invite.v1"


class InviteInvalid(Exception):
    """The link is not one of ours, or its invitation was accepted, revoked or has expired."""


def may_invite(inviter: StaffUser, role: StaffRole, merchants: list[Merchant]) -> bool:
    """A platform admin invites anyone; a merchant admin invites support and merchant admins of
    its own merchants only."""
    if inviter.role is StaffRole.PLATFORM_ADMIN:
        return True
    if inviter.role is StaffRole.MERCHANT_ADMIN and role is not StaffRole.PLATFORM_ADMIN:
        scope = Scope.of(inviter)
        return all(scope.covers(merchant.id) for merchant in merchants)
    return False


def invite_staff(session: Session, inviter: StaffUser | None, *, email: str, role: StaffRole,
                 merchant_ids: list[str], now: datetime, valid_for: timedelta) -> StaffInvite:
    """A new invitation, mailed once the caller commits. ``inviter`` None: the command line."""
    try:
        email = normalize_email(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise StaffError(f"enter a valid email address ({exc})") from None
    merchants = find_merchants(session, merchant_ids)
    check_role_merchants(role, merchants)
    if inviter is not None and not may_invite(inviter, role, merchants):
        raise StaffError("you may not give that role for those merchants")
    if find_staff_by_email(session, email) is not None:
        raise StaffError(f"{email} already has a console account")
    invite = StaffInvite(public_id=new_public_id("sti"), email=email, role=role,
                         merchants=[merchant.public_id for merchant in merchants],
                         invited_by_id=inviter.id if inviter else None, created_at=now,
                         expires_at=now + valid_for)
    session.add(invite)
    session.flush()
    enqueue(session, INVITE_JOB, {"invite": invite.public_id},
            dedupe_key=f"{INVITE_JOB}:{invite.public_id}")
    record_audit(session, action="console.staff_invite", subject=invite.public_id,
                 actor=f"staff:{inviter.public_id}" if inviter else "cli", now=now,
                 data={"email": email, "role": role.value, "merchants": invite.merchants,
                       "expires_at": invite.expires_at.isoformat()})
    return invite


def invite_url(invite: StaffInvite, links: Links) -> str:
    token = make_invitation_token(invite.public_id, invite.expires_at, links.secret_key,
                                  links.fallbacks, salt=SALT)
    return f"{links.base_url}/console/invites/{token}"


def open_invite(session: Session, token: str, links: Links, *, now: datetime) -> StaffInvite:
    """The open invitation a link names, or InviteInvalid saying why not."""
    try:
        public_id, expires_at = read_invitation_token(token, links.secret_key, links.fallbacks,
                                                      salt=SALT)
    except LinkInvalid as exc:
        raise InviteInvalid("this invitation link is not valid") from exc
    invite = (session.scalar(select(StaffInvite).where(StaffInvite.public_id == public_id))
              if looks_like(public_id, "sti") else None)
    if invite is None or int(invite.expires_at.timestamp()) != int(expires_at.timestamp()):
        raise InviteInvalid("this invitation link is not valid")
    if invite.accepted_at is not None:
        raise InviteInvalid("this invitation was used already: log in instead")
    if invite.revoked_at is not None:
        raise InviteInvalid("this invitation was withdrawn")
    if now >= invite.expires_at:
        raise InviteInvalid("this invitation has expired: ask for a new one")
    return invite


def accept_invite(session: Session, invite: StaffInvite, *, name: str, password: str,
                  now: datetime, ip: str | None) -> StaffUser:
    """Create the account, once: the acceptance is a compare-and-set on ``accepted_at``, so a
    link opened twice (or raced) makes one account. TOTP is set up at the first login, which
    the caller starts."""
    claimed = affected_rows(session.execute(
        update(StaffInvite).where(StaffInvite.id == invite.id, StaffInvite.accepted_at.is_(None),
                                  StaffInvite.revoked_at.is_(None))
        .values(accepted_at=now).execution_options(synchronize_session=False)))
    if claimed != 1:
        raise InviteInvalid("this invitation was used already: log in instead")
    staff = create_staff(session, email=invite.email, name=name, password=password, now=now,
                         role=invite.role, merchants=find_merchants(session, invite.merchants),
                         actor=f"invite:{invite.public_id}")
    record_audit(session, action="console.staff_invite_accept", subject=invite.public_id,
                 actor=f"staff:{staff.public_id}", now=now,
                 data={"staff": staff.public_id, "ip": ip})
    return staff


@dataclass(frozen=True)
class InviteMail:
    links: Links
    mail: MailSettings

    @classmethod
    def from_config(cls, config: Any) -> InviteMail:
        return cls(Links.from_config(config), MailSettings.from_config(config))


def invite_message(invite: StaffInvite, inviter: StaffUser | None, url: str, *,
                   sender: str, now: datetime) -> EmailMessage:
    """The invitation mail (English: a staff tool)."""
    by = f"{inviter.name} invites you" if inviter else "You are invited"
    message = EmailMessage()
    message["Subject"] = "Your invitation to the mandate portal's console"
    message["From"] = Address("Mandate portal", addr_spec=sender)
    message["To"] = invite.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=invite.public_id,
                                       domain=sender.rpartition("@")[2] or "mandate-portal")
    role = invite.role.value.replace("_", " ")
    message.set_content(
        f"{by} to the console as {role}.\n\n"
        f"Choose your password here (the link works once, until "
        f"{invite.expires_at:%Y-%m-%d %H:%M} UTC):\n\n{url}\n\n"
        "At your first login you will set up a code from an authenticator app.\n")
    return message


def send_invite_email(session: Session, public_id: str, *, transport: MailTransport,
                      settings: InviteMail, now: datetime) -> bool:
    """Mail an invitation that is still open; False (and nothing sent) otherwise."""
    invite = session.scalar(select(StaffInvite).where(StaffInvite.public_id == public_id))
    if (invite is None or invite.accepted_at is not None or invite.revoked_at is not None
            or now >= invite.expires_at):
        return False
    inviter = session.get(StaffUser, invite.invited_by_id) if invite.invited_by_id else None
    transport.send(invite_message(invite, inviter, invite_url(invite, settings.links),
                                  sender=settings.mail.sender, now=now))
    record_audit(session, action="console.staff_invite_sent", subject=invite.public_id,
                 actor="system", now=now, data={"email": invite.email})
    return True


def open_invites(session: Session, scope: Scope, *, now: datetime) -> list[StaffInvite]:
    """Invitations still open, of the merchants in scope (a platform admin sees all)."""
    invites = session.scalars(select(StaffInvite).where(
        StaffInvite.accepted_at.is_(None), StaffInvite.revoked_at.is_(None),
        StaffInvite.expires_at > now).order_by(StaffInvite.created_at.desc())).all()
    if scope.merchant_ids is None:
        return list(invites)
    ids = {merchant.public_id for merchant in session.scalars(
        select(Merchant).where(scope.condition(Merchant.id)))}
    return [invite for invite in invites if invite.merchants and set(invite.merchants) <= ids]
