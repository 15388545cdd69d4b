"""Text messages to customers: the invitation's short link and reminders of it.

A gateway sends one message and returns the provider's message id; it raises
:class:`SmsRejected` when the provider refuses for good (bad number, bad request) and
:class:`SmsDeferred` when it may work later (timeouts, 5xx, rate limits)."""

from __future__ import annotations

from typing import Protocol

from portal.transports import Deferred, Rejected


class SmsGateway(Protocol):
    def send(self, to: str, text: str, *, sender: str | None = None) -> str:
        """Send ``text`` to the E.164 number ``to``, from ``sender`` (the merchant's sender id;
        None: the gateway's own); the gateway's message id."""
        ...


class SmsRejected(Rejected):
    """The gateway refused this message; sending it again will not help."""


class SmsDeferred(Deferred):
    """The gateway could not take the message now; try again later."""
