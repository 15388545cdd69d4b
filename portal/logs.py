"""Logging: JSON in production, a request id on every line (carried into jobs), and secrets,
tokens and IBANs scrubbed from every message before it is written."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
from datetime import UTC, datetime

from flask import Flask, Response, g, request

#: The id of the request (or of the request that enqueued the running job).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Signing links: /sign/<token>… keeps the path shape, drops the token.
    (re.compile(r"(/sign/)[A-Za-z0-9._-]{20,}"), r"\1[token]"),
    (re.compile(r"(/s/)[A-Za-z0-9_-]{6,}"), r"\1[code]"),
    # IBANs, compact or grouped in fours (2 letters, 2 digits, 11-30 alphanumerics).
    (re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", re.IGNORECASE), "[iban]"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_[secret]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[token]"),
    (re.compile(r"(?i)((?:client_secret|access_token|password|secret|api_key)=)[^&\s]+"),
     r"\1[secret]"),
    (re.compile(r"\b(?:test|live)_[A-Za-z0-9]{20,}\b"), "[api-key]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
)


def scrub(text: str) -> str:
    """Remove what must never be logged: tokens, IBANs, secrets, email addresses."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


_base_factory = logging.getLogRecordFactory()


def _scrubbed_record(*args, **kwargs) -> logging.LogRecord:
    """Every record, whoever logs it and whichever handler writes it, is scrubbed at birth and
    tagged with the request id."""
    record = _base_factory(*args, **kwargs)
    try:
        record.msg, record.args = scrub(record.getMessage()), None
    except Exception:  # noqa: BLE001 - a broken format string: keep the template, never the args
        record.msg, record.args = scrub(str(record.msg)), None
    if record.exc_info:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    record.request_id = request_id.get()
    return record


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """Scrub every record at creation; one stderr handler on the root logger."""
    if logging.getLogRecordFactory() is not _scrubbed_record:
        logging.setLogRecordFactory(_scrubbed_record)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _PortalHandler)), None)
    if handler is None and not app.testing:
        handler = _PortalHandler()
        root.addHandler(handler)
    if handler is not None:
        handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json" else
                             logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] "
                                               "%(name)s: %(message)s"))
    root.setLevel(app.config["LOG_LEVEL"])
    # Libraries that log every request with its full URL, query string included.
    for name in ("alembic", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)


class _PortalHandler(logging.StreamHandler):
    """The portal's own stderr handler (so reconfiguring never stacks handlers)."""


def _assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
    request_id.set(g.request_id)


def _echo_request_id(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    return response
