"""SMS gateways: a MessageBird-style HTTP API for production, text files in
``instance/outbox/`` for development; chosen by ``SMS_TRANSPORT``."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from portal.clock import Clock
from portal.sms import SmsDeferred, SmsGateway, SmsRejected
from portal.sms.segments import count_segments

#: 4xx answers about us, not the message, worth retrying: our key or account (wrong key, no
#: credit, blocked: fixed by the operator, then the queued messages go out), the provider's
#: request timeout, or sending too fast.
_RETRYABLE_4XX = {401, 402, 403, 408, 425, 429}


class HttpSmsGateway:
    """``POST {base_url}/messages`` with ``Authorization: AccessKey <key>`` and JSON
    ``{"originator", "recipients", "body"}``; 201 with ``{"id": …}`` means accepted.

    4xx is permanent (bad number, bad request) except answers about our own account (401, 402,
    403) and 408/425/429; 5xx, timeouts and connection errors are temporary."""

    def __init__(self, base_url: str, access_key: str, originator: str, *,
                 timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/messages"
        self.originator = originator
        #: One client for the app's lifetime: connections are reused between messages.
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=False,
            headers={"Authorization": f"AccessKey {access_key}",
                     "Accept": "application/json", "User-Agent": "MandatePortal-SMS/1"})

    def close(self) -> None:
        self.client.close()

    def send(self, to: str, text: str, *, sender: str | None = None) -> str:
        body = {"originator": sender or self.originator, "recipients": [to.removeprefix("+")],
                "body": text}
        try:
            response = self.client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise SmsDeferred(f"timeout: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise SmsDeferred(f"connection failed: {type(exc).__name__}") from exc
        if response.status_code in (200, 201):
            message_id = _json(response).get("id")
            if isinstance(message_id, str) and message_id:
                return message_id
            raise SmsDeferred(f"HTTP {response.status_code} without a message id")
        reason = f"HTTP {response.status_code}: {_describe(response)}"
        if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_4XX:
            raise SmsRejected(reason)
        raise SmsDeferred(reason)


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(response: httpx.Response) -> str:
    """The provider's own error descriptions (``errors[].description``), else the body's start."""
    errors = _json(response).get("errors")
    if isinstance(errors, list):
        descriptions = [str(e.get("description", "")) for e in errors if isinstance(e, dict)]
        if any(descriptions):
            return "; ".join(filter(None, descriptions))[:200]
    return response.text[:200]


class FileSmsGateway:
    """Writes each message to ``<outbox>/<id>.sms.txt``: recipient, segments, then the text."""

    def __init__(self, outbox: Path, clock: Clock) -> None:
        self.outbox = outbox
        self.clock = clock

    def send(self, to: str, text: str, *, sender: str | None = None) -> str:
        self.outbox.mkdir(parents=True, exist_ok=True)
        message_id = f"{self.clock():%Y%m%dT%H%M%S}-{secrets.token_hex(6)}"
        segments = count_segments(text)
        origin = f"From: {sender}\n" if sender else ""
        content = (f"To: {to}\n{origin}Segments: {segments.count} ({segments.encoding}, "
                   f"{segments.units} units)\n\n{text}\n")
        fd, temp = tempfile.mkstemp(dir=self.outbox, prefix=".tmp-", suffix=".sms.txt")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.replace(temp, self.outbox / f"{message_id}.sms.txt")
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return message_id


def build_sms_gateway(config: Mapping[str, Any], instance: Path,
                      clock: Clock) -> SmsGateway | None:
    """The gateway ``SMS_TRANSPORT`` chooses ("http" or "file"), made once per app; None when
    SMS is turned off ("none")."""
    if config["SMS_TRANSPORT"] == "http":
        return HttpSmsGateway(config["SMS_API_URL"], config["SMS_API_KEY"] or "",
                              config["SMS_ORIGINATOR"],
                              timeout=float(config["SMS_TIMEOUT_SECONDS"]))
    if config["SMS_TRANSPORT"] == "file":
        return FileSmsGateway(instance / "outbox", clock)
    return None
