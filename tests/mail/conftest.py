"""Fixtures for delivery tests: an injected clock, a real SMTP server on a free loopback port
(aiosmtpd), and invitations queued for sending."""

from __future__ import annotations

import email
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.events.models import Event
from portal.mail.service import queue_invitation_email
from portal.mandates.models import Invitation, InvitationChannel
from portal.merchants.models import Merchant
from tests.factories import make_invitation, make_merchant
from tests.reconfigure import reconfigure


@dataclass
class Clock:
    """The portal's now (``app.config["CLOCK"]``), moved by the test, never slept through."""

    now: datetime

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def move_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock(utcnow())
    app.config["CLOCK"] = lambda: clock.now
    return clock


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps what arrives, refuses listed recipients with 550 at RCPT."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that a test can stop (an outage) and start again."""

    def __init__(self, **options: object) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     **self.options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.mailbox.received]


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    """A plain SMTP server the app sends to (MAIL_TRANSPORT=smtp, no TLS)."""
    server = SmtpServer().start()
    reconfigure(app, MAIL_TRANSPORT="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=server.port,
                SMTP_SECURITY="none", SMTP_TIMEOUT_SECONDS=5.0,
                MAIL_FROM="Mandate portal <no-reply@portal.example>")
    yield server
    server.stop()


def tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (the test's private CA)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = utcnow()
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def password_check(username: str, password: str):
    """An aiosmtpd authenticator accepting exactly one login."""
    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == username.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)
    return authenticate


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session, display_name="Bakkerij Bol")
    merchant.reply_to_email = "klantenservice@bakkerij.example"
    session.commit()
    return merchant


def invite_by_email(app: Flask, session: Session, merchant: Merchant, *, locale: str = "en",
                    email_address: str = "sam@example.org", **overrides: object) -> Invitation:
    """An invitation queued for sending by email, committed (on the app's clock)."""
    with app.app_context():
        invitation = make_invitation(session, merchant, locale=locale,
                                     customer_email=email_address,
                                     channel=InvitationChannel.EMAIL, **overrides)
        queue_invitation_email(session, invitation)
    session.commit()
    return invitation


def events_of(session: Session, invitation: Invitation, type: str) -> list[Event]:
    session.expire_all()
    return list(session.scalars(select(Event).where(Event.subject == invitation.public_id,
                                                    Event.type == type)))


def reloaded(session: Session, invitation: Invitation) -> Invitation:
    session.expire_all()
    return session.get(Invitation, invitation.id)
