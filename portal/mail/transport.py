"""Mail transports: files in ``instance/outbox/`` for development, SMTP for production."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from flask import current_app


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


class SmtpTransport:
    """Plain SMTP with STARTTLS or implicit TLS and optional login."""

    def __init__(self, host: str, port: int, security: str = "starttls", username: str | None = None,
                 password: str | None = None, timeout: float = 20.0) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
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
            client.send_message(message)


def mail_transport() -> MailTransport:
    """The transport chosen by ``MAIL_TRANSPORT``."""
    config = current_app.config
    if config["MAIL_TRANSPORT"] == "smtp":
        return SmtpTransport(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                             config.get("SMTP_SECURITY", "starttls"), config.get("SMTP_USERNAME"),
                             config.get("SMTP_PASSWORD"))
    return FileTransport(Path(current_app.instance_path) / "outbox")
