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

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# Every pattern below runs in time linear in the text, whatever the text: a match can only
# start where a literal occurs or where a run of its characters begins (the look-behinds), and
# no two adjacent repeats can trade characters, so a failed attempt never re-scans a run from
# each of its positions (the old email pattern did, which made scrubbing quadratic). A pattern
# runs only when one of its literals occurs in the text (lower-cased); none ignores case, which
# makes Python's matcher several times slower.
_B64URL = r"A-Za-z0-9_\-"  # access tokens, client secrets, signed links
_SCRUBBERS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # Signing links: /sign/<token>… keeps the path shape, drops the token; short links alike.
    (("/sign/",), re.compile(r"(/sign/)[A-Za-z0-9._-]{20,}"), r"\1[token]"),
    (("/s/",), re.compile(r"(/s/)[A-Za-z0-9_-]{6,}"), r"\1[code]"),
    # Every secret the portal issues carries its prefix: API access tokens (mpat_), client
    # secrets (sec_), webhook signing secrets (whsec_, base64).
    (("mpat_", "sec_"), re.compile(rf"(?<![A-Za-z0-9_])(mpat|sec|whsec)_[{_B64URL}+/=]{{8,}}"),
     r"\1_[secret]"),
    # Signed tokens outside a /sign/ path: invitation links (itsdangerous, base64 of '["'),
    # sessions and JWT-shaped values (base64 of '{"'), compressed sessions ('.eJ').
    (("wy", "eyj", "ej"), re.compile(
        rf"(?<![{_B64URL}.])\.?(?:Wy|eyJ|eJ)[{_B64URL}]{{6,}}(?:\.[{_B64URL}]{{4,}}){{1,2}}"),
     "[token]"),
    (("bearer",), re.compile(r"\b((?:[Bb]earer|BEARER)\s+)[A-Za-z0-9._~+/=-]+"), r"\1[token]"),
    (("basic",), re.compile(r"\b((?:[Bb]asic|BASIC)\s+)[A-Za-z0-9+/]{16,}={0,2}"), r"\1[credentials]"),
    # key=value, "key": "value" and 'key': 'value' (dicts and JSON in messages), for every key
    # ending in secret, token, password or api_key (client_secret, access_token, csrf_token…).
    (("secret", "token", "passw", "api_key"), re.compile(
        r"((?:secret|token|password|passphrase|api_key|Secret|Token|Password|SECRET|TOKEN|"
        r"PASSWORD|API_KEY)['\"]?\s{0,5}[=:]\s{0,5}['\"]?)"
        r"[^&\s'\",;}]+"), r"\1[secret]"),
    (("test_", "live_"), re.compile(r"\b(?:test|live)_[A-Za-z0-9]{20,}\b"), "[api-key]"),
    # IBANs, compact or grouped in fours (2 letters, 2 digits, 11-30 alphanumerics).
    (("",), re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}\b"), "[iban]"),
    (("@",), re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
     "[email]"),
)


def scrub(text: str) -> str:
    """Remove what must never be logged: tokens, IBANs, secrets, email addresses."""
    lowered = text.lower()
    for needles, pattern, replacement in _SCRUBBERS:
        if any(needle in lowered for needle in needles):
            text = pattern.sub(replacement, text)
    return text


_base_factory = logging.getLogRecordFactory()


def _scrubbed_record(*args, **kwargs) -> logging.LogRecord:
    """Every record, whoever logs it and whichever handler writes it, is scrubbed at birth and
    tagged with the request id. Arguments (dicts, objects) are formatted into the message
    first, so a secret inside one is scrubbed by its shape like any other text."""
    record = _base_factory(*args, **kwargs)
    try:
        record.msg, record.args = scrub(record.getMessage()), None
    except Exception:  # noqa: BLE001 - a broken format string: keep the template, never the args
        record.msg, record.args = scrub(str(record.msg)), None
    if record.exc_info:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
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


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
#: Loggers held at WARNING: they log every request with its full URL, query string included.
QUIET_LOGGERS = ("alembic", "httpx", "httpcore")
#: Loggers held at INFO: Authlib's debug lines print every issued token in full.
NO_DEBUG_LOGGERS = ("authlib",)
#: Loggers held at ERROR: pyHanko logs each failed check of a seal with a traceback, and
#: signing.verify reports those as reasons.
ERRORS_ONLY_LOGGERS = ("pyhanko", "pyhanko_certvalidator")


class PortalHandler(logging.StreamHandler):
    """The portal's own handler (stderr by default): it scrubs each formatted line once more,
    for what reaches a record after its birth (``extra=`` fields a format may show)."""

    def __init__(self, log_format: str, stream=None) -> None:
        super().__init__(stream)
        self.use_format(log_format)

    def use_format(self, log_format: str) -> None:
        """``json`` (one object a line) or ``text``."""
        self.setFormatter(JsonFormatter() if log_format == "json" else
                          logging.Formatter(TEXT_FORMAT))

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(app: Flask) -> None:
    """Scrub every record at creation; one stderr handler on the root logger."""
    if logging.getLogRecordFactory() is not _scrubbed_record:
        logging.setLogRecordFactory(_scrubbed_record)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, PortalHandler)), None)
    if handler is not None:
        handler.use_format(app.config["LOG_FORMAT"])
    elif not app.testing:
        root.addHandler(PortalHandler(app.config["LOG_FORMAT"]))
    root.setLevel(app.config["LOG_LEVEL"])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in NO_DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    for name in ERRORS_ONLY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)


def _assign_request_id() -> None:
    g.request_id = assign_request_id(request.environ)


def assign_request_id(environ: dict) -> str:
    """The request's id: the proxy's ``X-Request-ID`` if well-formed, else a new one; from now
    on every log record of this thread carries it."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    assigned = incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
    request_id.set(assigned)
    return assigned


def _echo_request_id(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    return response
