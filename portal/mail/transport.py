"""Mail transports: files in ``instance/outbox/`` for development, SMTP for production.

A transport either hands the message over, raises :class:`MailRejected` when the server refuses
it for good (5xx: unknown mailbox, policy), or :class:`MailDeferred` when it may work later
(connection refused, timeouts, 4xx, our own login or TLS trouble)."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from portal.transports import Deferred, Rejected


class MailRejected(Rejected):
    """The server refused this message permanently; sending it again will not help."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class MailDeferred(Deferred):
    """The message could not be handed over now; try again later."""


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileTransport:
    """Writes each message as an ``.eml`` file, atomically, named by its Message-ID."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        name = "".join(c for c in message["Message-ID"] if c.isalnum() or c in "._-@")
        target = self.outbox / f"{name}.eml"
        fd, temp = tempfile.mkstemp(dir=self.outbox, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _text(raw: bytes | str) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)[:200]


class SmtpTransport:
    """SMTP with STARTTLS, implicit TLS or neither, and optional login; errors classified."""

    def __init__(self, host: str, port: int, security: str = "starttls", username: str | None = None,
                 password: str | None = None, timeout: float = 20.0,
                 envelope_sender: str | None = None, ca_file: str | None = None) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"SMTP_SECURITY must be starttls, tls or none, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        #: MAIL FROM (where bounces go); None: the From header's address.
        self.envelope_sender = envelope_sender
        #: CA certificates to verify the server with (a private relay); None: the system's.
        self.ca_file = ca_file

    def send(self, message: EmailMessage) -> None:
        try:
            self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused at RCPT
            code, reason = next(iter(exc.recipients.values()))
            raise self._classified(code, reason) from exc
        except smtplib.SMTPDataError as exc:  # the message itself refused after DATA
            raise self._classified(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection, TLS, login, sender
            raise MailDeferred(f"{type(exc).__name__}: {_text(str(exc))}") from exc

    @staticmethod
    def _classified(code: int, reason: bytes | str) -> Exception:
        if 500 <= code < 600:
            return MailRejected(code, _text(reason))
        return MailDeferred(f"{code} {_text(reason)}")

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message, from_addr=self.envelope_sender)


def build_mail_transport(config: Mapping[str, Any], instance: Path) -> MailTransport:
    """The transport ``MAIL_TRANSPORT`` chooses ("smtp", else .eml files), made once per app."""
    if config["MAIL_TRANSPORT"] == "smtp":
        return SmtpTransport(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                             config.get("SMTP_SECURITY", "starttls"), config.get("SMTP_USERNAME"),
                             config.get("SMTP_PASSWORD"),
                             float(config.get("SMTP_TIMEOUT_SECONDS") or 20.0),
                             config.get("MAIL_BOUNCE_ADDRESS"), config.get("SMTP_CA_FILE"))
    return FileTransport(instance / "outbox")
