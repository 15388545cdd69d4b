"""A local twin of Mollie's API v2 for tests: a real HTTP server on 127.0.0.1.

It follows Mollie's documented shapes (customers `cst_…`, payments `tr_…` one-off, first and
recurring, mandates `mdt_…` directdebit and creditcard, refunds `re_…`, chargebacks `chb_…`,
methods, problem JSON with status/title/detail/field), demands a `Bearer test_…` key, validates
like Mollie (422 with `field`), honours `Idempotency-Key` on creating calls, and lets a test
settle payments and refunds, add chargebacks, or inject 5xx, 401, 429 and hangs.
Use the `mollie_stub` fixture, or `with MollieStub() as stub:` outside pytest.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = ["MollieStub", "RecordedRequest", "mollie_stub"]

MandateOutcome = Literal["linked", "unlinked", "none"]

PAYMENT_STATUSES = frozenset(
    {"open", "pending", "authorized", "paid", "failed", "canceled", "expired"}
)
LOCALES = frozenset(
    {
        "en_US", "en_GB", "nl_NL", "nl_BE", "de_DE", "de_AT", "de_CH", "de_LU", "fr_FR",
        "fr_BE", "fr_LU", "es_ES", "ca_ES", "pt_PT", "it_IT", "nb_NO", "sv_SE", "fi_FI",
        "da_DK", "is_IS", "hu_HU", "pl_PL", "lv_LV", "lt_LT",
    }
)  # fmt: skip
#: Mollie's documented iDEAL test account, used when a test does not name a payer.
DEFAULT_PAYER = {
    "consumerName": "T. TEST",
    "consumerAccount": "NL55INGB0000000000",
    "consumerBic": "INGBNL2A",
}

_TITLES = {400: "Bad Request", 401: "Unauthorized Request", 422: "Unprocessable Entity"}
_DOCS = "https://docs.mollie.com/overview/handling-errors"
_API_KEY = re.compile(r"test_[A-Za-z0-9]{30}")
_EUR_VALUE = re.compile(r"(0|[1-9][0-9]*)\.[0-9]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*")
_ALPHANUM = string.ascii_letters + string.digits
_MAX_METADATA_BYTES = 1024
_HANG_LIMIT_SECONDS = 10.0
_POLL_SECONDS = 0.01  # how quickly stop() is noticed; werkzeug's default 0.5s slows every test

_ROUTES = Map(
    [
        Rule("/v2/customers", methods=["POST"], endpoint="create_customer"),
        Rule("/v2/customers/<customer_id>", methods=["GET"], endpoint="get_customer"),
        Rule("/v2/customers/<customer_id>/mandates", methods=["GET"], endpoint="list_mandates"),
        Rule(
            "/v2/customers/<customer_id>/mandates/<mandate_id>",
            methods=["GET"],
            endpoint="get_mandate",
        ),
        Rule("/v2/payments", methods=["POST"], endpoint="create_payment"),
        Rule("/v2/payments/<payment_id>", methods=["GET"], endpoint="get_payment"),
        Rule("/v2/payments/<payment_id>/refunds", methods=["POST"], endpoint="create_refund"),
        Rule("/v2/payments/<payment_id>/refunds", methods=["GET"], endpoint="list_refunds"),
        Rule("/v2/payments/<payment_id>/chargebacks", methods=["GET"],
             endpoint="list_chargebacks"),
        Rule("/v2/methods", methods=["GET"], endpoint="list_methods"),
        Rule("/checkout/<payment_id>", methods=["GET"], endpoint="checkout"),
    ],
    strict_slashes=False,
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stub received it; header names are lower-case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    json: Any
    body: bytes


@dataclass(frozen=True)
class _Failure:
    status: int
    body: str | None
    hang: bool


class _MollieError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


class _QuietHandler(WSGIRequestHandler):
    def log(self, kind: str, message: str, *args: Any) -> None:
        pass


class MollieStub:
    """In-memory Mollie: start() binds a free port on 127.0.0.1 and sets `base_url`."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.api_key = "test_" + _random(30)
        self.base_url = ""
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._hangs: list[threading.Event] = []
        self._customers: dict[str, dict[str, Any]] = {}
        self._payments: dict[str, dict[str, Any]] = {}
        self._mandates: dict[str, list[dict[str, Any]]] = {}
        self._refunds: dict[str, list[dict[str, Any]]] = {}
        self._chargebacks: dict[str, list[dict[str, Any]]] = {}
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        #: What the profile has enabled (a test may change it).
        self.enabled = ["ideal", "creditcard", "bancontact", "paypal", "directdebit"]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- Lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="mollie-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            hangs, self._hangs = self._hangs, []
        for hang in hangs:
            hang.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- What the test sees ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def api_calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request received, in order."""
        return [(request.method, request.path) for request in self.requests]

    def customer(self, customer_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._customers[customer_id]))

    def payment(self, payment_id: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._payments[payment_id]))

    def mandates(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's mandates, newest first, as Mollie lists them."""
        with self._lock:
            return json.loads(json.dumps(self._newest_first(customer_id)))

    def refunds(self, payment_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self._refunds.get(payment_id, [])))

    def settle_refund(self, payment_id: str, refund_id: str, status: str = "refunded") -> None:
        """Move a refund on (Mollie: queued/pending → processing → refunded or failed)."""
        with self._lock:
            for refund in self._refunds[payment_id]:
                if refund["id"] == refund_id:
                    refund["status"] = status
                    self._update_refunded(payment_id)
                    return
        raise KeyError(refund_id)

    def add_chargeback(self, payment_id: str, cents: int | None = None, *,
                       code: str = "MD06", reason: str = "Refund request by payer") -> str:
        """The payer's bank takes (part of) a paid payment back; returns the `chb_…` id."""
        with self._lock:
            payment = self._payments[payment_id]
            amount = payment["amount"]["value"] if cents is None else f"{cents // 100}.{cents % 100:02d}"
            chargeback_id = "chb_" + _random(10)
            self._chargebacks.setdefault(payment_id, []).append({
                "resource": "chargeback", "id": chargeback_id,
                "amount": {"value": amount, "currency": "EUR"},
                "settlementAmount": {"value": f"-{amount}", "currency": "EUR"},
                "reason": {"code": code, "description": reason}, "paymentId": payment_id,
                "createdAt": self._now(), "reversedAt": None,
                "_links": {"self": self._link(f"/v2/payments/{payment_id}/chargebacks/"
                                              f"{chargeback_id}")}})
            total = sum(_cents(c["amount"]["value"]) for c in self._chargebacks[payment_id])
            payment["amountChargedBack"] = {"value": _value(total), "currency": "EUR"}
            return chargeback_id

    def webhook_call(self, payment_id: str) -> tuple[str | None, bytes]:
        """The URL and form body Mollie would POST for this payment: only `id=tr_…`."""
        with self._lock:
            payment = self._payments[payment_id]
        return payment.get("webhookUrl"), f"id={payment_id}".encode("ascii")

    # -- What the test controls -----------------------------------------------------------------

    def set_outcome(
        self,
        payment_id: str,
        status: str,
        *,
        consumer_name: str = DEFAULT_PAYER["consumerName"],
        consumer_account: str = DEFAULT_PAYER["consumerAccount"],
        consumer_bic: str = DEFAULT_PAYER["consumerBic"],
        mandate: MandateOutcome = "linked",
    ) -> dict[str, Any]:
        """Move a payment to `status`; a paid first payment gets a valid directdebit mandate.

        `mandate="unlinked"` creates the mandate but leaves `mandateId` off the payment;
        `mandate="none"` creates no mandate.
        """
        if status not in PAYMENT_STATUSES:
            raise ValueError(f"Mollie has no payment status {status!r}")
        now = self._now()
        with self._lock:
            payment = self._payments[payment_id]
            payment["status"] = status
            if status in ("open", "pending", "authorized"):
                if status == "authorized":
                    payment["authorizedAt"] = now
                return dict(payment)
            payment.pop("isCancelable", None)
            payment.pop("expiresAt", None)
            payment["_links"].pop("checkout", None)
            if status != "paid":
                payment[f"{status}At"] = now
                return dict(payment)
            payment["paidAt"] = now
            payment["amountRefunded"] = {"value": "0.00", "currency": "EUR"}
            payment["amountRemaining"] = dict(payment["amount"])
            payment["details"] = {
                "consumerName": consumer_name,
                "consumerAccount": consumer_account,
                "consumerBic": consumer_bic,
            }
            customer_id = payment.get("customerId")
            card = payment.get("method") == "creditcard"
            if card:
                payment["details"] = {"cardHolder": consumer_name, "cardNumber": "4444",
                                      "cardLabel": "Mastercard", "cardCountryCode": "NL"}
            if payment["sequenceType"] == "first" and customer_id and mandate != "none":
                details = ({"cardHolder": consumer_name, "cardNumber": "4444",
                            "cardLabel": "Mastercard", "cardExpiryDate": "2030-12-31"}
                           if card else payment["details"])
                created = self._add_mandate(
                    customer_id,
                    details=details,
                    status="valid",
                    method="creditcard" if card else "directdebit",
                    created_at=now,
                )
                if mandate == "linked":
                    payment["mandateId"] = created["id"]
                    payment["_links"]["mandate"] = created["_links"]["self"]
            return dict(payment)

    def fail_charge(self, payment_id: str, reason: str = "insufficient_funds") -> None:
        """A recurring charge the bank or card issuer refused."""
        with self._lock:
            payment = self._payments[payment_id]
            payment["status"] = "failed"
            payment["failedAt"] = self._now()
            key = "failureReason" if payment.get("method") == "creditcard" else "bankReasonCode"
            payment["details"] = {**(payment.get("details") or {}), key: reason}

    def pay(self, payment_id: str, **outcome: Any) -> dict[str, Any]:
        """Shorthand for set_outcome(payment_id, "paid", ...)."""
        return self.set_outcome(payment_id, "paid", **outcome)

    def add_mandate(
        self,
        customer_id: str,
        *,
        consumer_name: str = DEFAULT_PAYER["consumerName"],
        consumer_account: str = DEFAULT_PAYER["consumerAccount"],
        consumer_bic: str = DEFAULT_PAYER["consumerBic"],
        status: str = "valid",
        method: str = "directdebit",
        created_at: datetime | None = None,
    ) -> str:
        """Give a customer a mandate directly (as Create mandate would); returns its id."""
        details = {
            "consumerName": consumer_name,
            "consumerAccount": consumer_account,
            "consumerBic": consumer_bic,
        }
        with self._lock:
            created = self._add_mandate(
                customer_id,
                details=details,
                status=status,
                method=method,
                created_at=_iso(created_at) if created_at else self._now(),
            )
        return created["id"]

    def patch_payment(self, payment_id: str, **fields: Any) -> None:
        """Overwrite raw payment fields, to mimic shapes Mollie might send one day."""
        with self._lock:
            self._payments[payment_id].update(fields)

    def fail_next(self, count: int = 1, *, status: int = 503, body: str | None = None) -> None:
        """The next `count` API requests answer `status` with Mollie's problem JSON (or `body`)."""
        with self._lock:
            self._failures.extend(_Failure(status, body, hang=False) for _ in range(count))

    def hang_next(self, count: int = 1) -> None:
        """The next `count` API requests never answer in time; released when the stub stops."""
        with self._lock:
            self._failures.extend(_Failure(503, None, hang=True) for _ in range(count))

    # -- HTTP -----------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self._respond(request)(environ, start_response)

    def _respond(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        try:
            payload = json.loads(body) if body and request.mimetype == "application/json" else None
        except ValueError:
            payload = _INVALID_JSON
        is_api = request.path.startswith("/v2/")
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.args),
                    headers={name.lower(): value for name, value in request.headers.items()},
                    json=None if payload is _INVALID_JSON else payload,
                    body=body,
                )
            )
            failure = self._failures.popleft() if is_api and self._failures else None
            hang = threading.Event() if failure and failure.hang else None
            if hang:
                self._hangs.append(hang)
        if hang:
            hang.wait(_HANG_LIMIT_SECONDS)
        if failure:
            if failure.body is not None:
                return Response(failure.body, status=failure.status, content_type="text/html")
            return _problem(failure.status, "Injected failure from the Mollie stub.")

        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return _problem(exc.code or 404, "The requested resource does not exist.")
        if endpoint == "checkout":
            return self._checkout_page(args["payment_id"])
        authorization = request.headers.get("Authorization", "")
        scheme, _, key = authorization.partition(" ")
        if scheme != "Bearer" or not _API_KEY.fullmatch(key) or key != self.api_key:
            return _problem(401, "Missing authentication, or failed to authenticate")
        if request.method == "POST" and payload is _INVALID_JSON:
            return _problem(400, "The request body is not valid JSON.")
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key:
            with self._lock:
                known = self._idempotent.get(f"{request.path}|{key}")
            if known is not None:
                return _hal(*known)
        try:
            handler = getattr(self, f"_api_{endpoint}")
            status, resource = handler(payload if isinstance(payload, dict) else {}, **args)
        except _MollieError as exc:
            return _problem(exc.status, exc.detail, exc.field)
        except KeyError:
            return _problem(404, "The requested resource does not exist.")
        if request.method == "POST" and key:
            with self._lock:
                self._idempotent[f"{request.path}|{key}"] = (status, resource)
        return _hal(status, resource)

    # -- Endpoints (called with self._lock not held) --------------------------------------------

    def _api_create_customer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name, email = body.get("name"), body.get("email")
        if name is not None and not isinstance(name, str):
            raise _MollieError(422, "The name is invalid.", "name")
        if email is not None and not (isinstance(email, str) and _EMAIL.fullmatch(email)):
            raise _MollieError(422, "The email address is invalid.", "email")
        locale = _check_locale(body.get("locale"))
        metadata = _check_metadata(body.get("metadata"))
        customer_id = "cst_" + _random(10)
        customer = {
            "resource": "customer",
            "id": customer_id,
            "mode": "test",
            "name": name,
            "email": email,
            "locale": locale,
            "metadata": metadata,
            "createdAt": self._now(),
            "_links": {
                "self": self._link(f"/v2/customers/{customer_id}"),
                "dashboard": _link(f"https://my.mollie.com/dashboard/customers/{customer_id}"),
                "documentation": _link("https://docs.mollie.com/reference/create-customer"),
            },
        }
        with self._lock:
            self._customers[customer_id] = customer
            self._mandates[customer_id] = []
            return 201, dict(customer)

    def _api_get_customer(self, body: dict[str, Any], customer_id: str) -> tuple[int, Any]:
        with self._lock:
            return 200, dict(self._customers[customer_id])

    def _api_create_payment(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount = body.get("amount")
        if not isinstance(amount, dict):
            raise _MollieError(422, "The amount is required.", "amount")
        if amount.get("currency") != "EUR":
            raise _MollieError(422, "The currency is not supported for iDEAL.", "amount.currency")
        value = amount.get("value")
        if not isinstance(value, str) or not _EUR_VALUE.fullmatch(value):
            raise _MollieError(
                422,
                "The amount contains an invalid value; use a string with two decimals.",
                "amount.value",
            )
        if value == "0.00":
            raise _MollieError(422, "The amount is lower than the minimum.", "amount.value")
        description = body.get("description")
        if not isinstance(description, str) or not description.strip():
            raise _MollieError(422, "The description is required.", "description")
        redirect_url = body.get("redirectUrl")
        if body.get("sequenceType") != "recurring" and (
                not isinstance(redirect_url, str) or not _URL.fullmatch(redirect_url)):
            raise _MollieError(422, "The redirect URL is missing or invalid.", "redirectUrl")
        webhook_url = body.get("webhookUrl")
        if webhook_url is not None and not (
            isinstance(webhook_url, str) and _URL.fullmatch(webhook_url)
        ):
            raise _MollieError(422, "The webhook URL is invalid.", "webhookUrl")
        method = body.get("method")
        if method is not None and method not in self.enabled:
            raise _MollieError(422, "The payment method is not enabled in the stub.", "method")
        locale = _check_locale(body.get("locale"))
        metadata = _check_metadata(body.get("metadata"))
        sequence_type = body.get("sequenceType", "oneoff")
        customer_id = body.get("customerId")
        if sequence_type not in ("oneoff", "first", "recurring"):
            raise _MollieError(422, "The sequence type is invalid.", "sequenceType")
        if sequence_type == "recurring":
            return self._recurring_payment(body, amount, customer_id)
        with self._lock:
            if customer_id is not None and customer_id not in self._customers:
                raise _MollieError(422, "The customer id is invalid.", "customerId")
        if sequence_type == "first" and customer_id is None:
            raise _MollieError(
                422, "A first payment needs a customer to create a mandate for.", "customerId"
            )

        payment_id = "tr_" + _random(10)
        created = self._clock()
        links = {
            "self": self._link(f"/v2/payments/{payment_id}"),
            "checkout": {"href": f"{self.base_url}/checkout/{payment_id}", "type": "text/html"},
            "dashboard": _link(f"https://my.mollie.com/dashboard/payments/{payment_id}"),
            "documentation": _link("https://docs.mollie.com/reference/create-payment"),
        }
        if customer_id:
            links["customer"] = self._link(f"/v2/customers/{customer_id}")
        payment: dict[str, Any] = {
            "resource": "payment",
            "id": payment_id,
            "mode": "test",
            "createdAt": _iso(created),
            "amount": {"value": value, "currency": "EUR"},
            "description": description,
            "method": method,
            "metadata": metadata,
            "status": "open",
            "isCancelable": False,
            "expiresAt": _iso(created + timedelta(minutes=15)),
            "details": None,
            "profileId": "pfl_stubprofile",
            "sequenceType": sequence_type,
            "redirectUrl": redirect_url,
            "_links": links,
        }
        if webhook_url:
            payment["webhookUrl"] = webhook_url
        if locale:
            payment["locale"] = locale
        if customer_id:
            payment["customerId"] = customer_id
        with self._lock:
            self._payments[payment_id] = payment
            return 201, json.loads(json.dumps(payment))

    def _recurring_payment(self, body: dict[str, Any], amount: dict[str, Any],
                           customer_id: object) -> tuple[int, dict[str, Any]]:
        """Charged on the mandate at once: a card answers now (paid), a SEPA debit is pending."""
        mandate_id = body.get("mandateId")
        with self._lock:
            if customer_id not in self._customers:
                raise _MollieError(422, "The customer id is invalid.", "customerId")
            mandates = self._mandates.get(str(customer_id), [])
            mandate = next((m for m in mandates if m["id"] == mandate_id), None)
            if mandate_id is not None and mandate is None:
                raise _MollieError(422, "The mandate id is invalid.", "mandateId")
            mandate = mandate or next((m for m in reversed(mandates) if m["status"] == "valid"),
                                      None)
            if mandate is None or mandate["status"] != "valid":
                raise _MollieError(422, "The customer has no valid mandate.", "mandateId")
            payment_id = "tr_" + _random(10)
            card = mandate["method"] == "creditcard"
            payment = {
                "resource": "payment", "id": payment_id, "mode": "test",
                "createdAt": self._now(), "amount": dict(amount),
                "description": body.get("description"),
                "method": "creditcard" if card else "directdebit",
                "metadata": _check_metadata(body.get("metadata")),
                "status": "paid" if card else "pending", "sequenceType": "recurring",
                "customerId": customer_id, "mandateId": mandate["id"],
                "details": {"cardNumber": mandate["details"].get("cardNumber")} if card else {
                    "consumerName": mandate["details"].get("consumerName"),
                    "consumerAccount": mandate["details"].get("consumerAccount"),
                    "consumerBic": mandate["details"].get("consumerBic")},
                "profileId": "pfl_stubprofile",
                "_links": {"self": self._link(f"/v2/payments/{payment_id}")},
            }
            if card:
                payment["paidAt"] = self._now()
                payment["amountRefunded"] = {"value": "0.00", "currency": "EUR"}
                payment["amountRemaining"] = dict(amount)
            if body.get("webhookUrl"):
                payment["webhookUrl"] = body["webhookUrl"]
            self._payments[payment_id] = payment
            return 201, json.loads(json.dumps(payment))

    def _api_create_refund(self, body: dict[str, Any], payment_id: str) -> tuple[int, Any]:
        amount = body.get("amount")
        if not isinstance(amount, dict) or not isinstance(amount.get("value"), str) or \
                not _EUR_VALUE.fullmatch(amount["value"]) or amount.get("currency") != "EUR":
            raise _MollieError(422, "The amount is invalid.", "amount")
        with self._lock:
            if payment_id not in self._payments:
                raise _MollieError(404, f"No payment exists with token {payment_id}.")
            payment = self._payments[payment_id]
            if payment["status"] != "paid":
                raise _MollieError(422, "The payment cannot be refunded.", "amount")
            taken = sum(_cents(r["amount"]["value"]) for r in self._refunds.get(payment_id, [])
                        if r["status"] not in ("failed", "canceled"))
            taken += sum(_cents(c["amount"]["value"])
                         for c in self._chargebacks.get(payment_id, []))
            remaining = _cents(payment["amount"]["value"]) - taken
            if _cents(amount["value"]) > remaining or _cents(amount["value"]) == 0:
                raise _MollieError(422, "The amount is higher than the amount remaining.",
                                   "amount")
            refund_id = "re_" + _random(10)
            refund = {"resource": "refund", "id": refund_id, "amount": dict(amount),
                      "status": "pending", "createdAt": self._now(),
                      "description": body.get("description"), "paymentId": payment_id,
                      "_links": {"self": self._link(f"/v2/payments/{payment_id}/refunds/"
                                                    f"{refund_id}")}}
            self._refunds.setdefault(payment_id, []).append(refund)
            payment["amountRemaining"] = {"value": _value(remaining - _cents(amount["value"])),
                                          "currency": "EUR"}
            return 201, json.loads(json.dumps(refund))

    def _api_list_refunds(self, body: dict[str, Any], payment_id: str) -> tuple[int, Any]:
        with self._lock:
            if payment_id not in self._payments:
                raise _MollieError(404, f"No payment exists with token {payment_id}.")
            refunds = json.loads(json.dumps(self._refunds.get(payment_id, [])))
        return 200, {"count": len(refunds), "_embedded": {"refunds": refunds},
                     "_links": {"self": self._link(f"/v2/payments/{payment_id}/refunds")}}

    def _api_list_chargebacks(self, body: dict[str, Any], payment_id: str) -> tuple[int, Any]:
        with self._lock:
            if payment_id not in self._payments:
                raise _MollieError(404, f"No payment exists with token {payment_id}.")
            items = json.loads(json.dumps(self._chargebacks.get(payment_id, [])))
        return 200, {"count": len(items), "_embedded": {"chargebacks": items},
                     "_links": {"self": self._link(f"/v2/payments/{payment_id}/chargebacks")}}

    def _api_list_methods(self, body: dict[str, Any]) -> tuple[int, Any]:
        sequence = self._last_query().get("sequenceType", "oneoff")
        allowed = {"first": {"ideal", "creditcard", "bancontact"},
                   "recurring": {"creditcard", "directdebit"}}.get(sequence)
        names = {"ideal": "iDEAL", "creditcard": "Card", "bancontact": "Bancontact",
                 "paypal": "PayPal", "directdebit": "SEPA Direct Debit"}
        methods = [{"resource": "method", "id": m, "description": names[m],
                    "minimumAmount": {"value": "0.01", "currency": "EUR"},
                    "maximumAmount": {"value": "50000.00", "currency": "EUR"}}
                   for m in self.enabled
                   if (allowed is None and m != "directdebit") or (allowed and m in allowed)]
        return 200, {"count": len(methods), "_embedded": {"methods": methods},
                     "_links": {"self": self._link("/v2/methods")}}

    def _last_query(self) -> Mapping[str, str]:
        with self._lock:
            return self._requests[-1].query if self._requests else {}

    def _update_refunded(self, payment_id: str) -> None:
        total = sum(_cents(r["amount"]["value"]) for r in self._refunds[payment_id]
                    if r["status"] == "refunded")
        self._payments[payment_id]["amountRefunded"] = {"value": _value(total),
                                                        "currency": "EUR"}

    def _api_get_payment(self, body: dict[str, Any], payment_id: str) -> tuple[int, Any]:
        with self._lock:
            if payment_id not in self._payments:
                raise _MollieError(404, f"No payment exists with token {payment_id}.")
            return 200, json.loads(json.dumps(self._payments[payment_id]))

    def _api_list_mandates(self, body: dict[str, Any], customer_id: str) -> tuple[int, Any]:
        with self._lock:
            if customer_id not in self._customers:
                raise _MollieError(404, f"No customer exists with token {customer_id}.")
            mandates = json.loads(json.dumps(self._newest_first(customer_id)))
        href = f"/v2/customers/{customer_id}/mandates"
        return 200, {
            "count": len(mandates),
            "_embedded": {"mandates": mandates},
            "_links": {
                "self": self._link(href),
                "previous": None,
                "next": None,
                "documentation": _link("https://docs.mollie.com/reference/list-mandates"),
            },
        }

    def _api_get_mandate(
        self, body: dict[str, Any], customer_id: str, mandate_id: str
    ) -> tuple[int, Any]:
        with self._lock:
            for mandate in self._mandates.get(customer_id, []):
                if mandate["id"] == mandate_id:
                    return 200, json.loads(json.dumps(mandate))
        raise _MollieError(404, f"No mandate exists with token {mandate_id}.")

    def _checkout_page(self, payment_id: str) -> Response:
        with self._lock:
            payment = self._payments.get(payment_id)
        if payment is None:
            return Response("Unknown payment", status=404, content_type="text/plain")
        text = f"Mollie stub checkout for {payment_id}: {payment['amount']['value']} EUR"
        return Response(text, content_type="text/plain")

    # -- Helpers (call with self._lock held) ----------------------------------------------------

    def _add_mandate(
        self,
        customer_id: str,
        *,
        details: Mapping[str, str],
        status: str,
        method: str,
        created_at: str,
    ) -> dict[str, Any]:
        mandate_id = "mdt_" + _random(10)
        mandate = {
            "resource": "mandate",
            "id": mandate_id,
            "mode": "test",
            "status": status,
            "method": method,
            "details": dict(details),
            "mandateReference": None,
            "signatureDate": created_at[:10],
            "createdAt": created_at,
            "_links": {
                "self": self._link(f"/v2/customers/{customer_id}/mandates/{mandate_id}"),
                "customer": self._link(f"/v2/customers/{customer_id}"),
                "documentation": _link("https://docs.mollie.com/reference/get-mandate"),
            },
        }
        self._mandates.setdefault(customer_id, []).append(mandate)
        return mandate

    def _newest_first(self, customer_id: str) -> list[dict[str, Any]]:
        mandates = list(enumerate(self._mandates.get(customer_id, [])))
        mandates.sort(key=lambda item: (item[1]["createdAt"], item[0]), reverse=True)
        return [mandate for _, mandate in mandates]

    def _link(self, path: str) -> dict[str, str]:
        return {"href": self.base_url + path, "type": "application/hal+json"}

    def _now(self) -> str:
        return _iso(self._clock())


_INVALID_JSON = object()


def _cents(value: str) -> int:
    whole, _, fraction = value.partition(".")
    return int(whole) * 100 + int(fraction or 0)


def _value(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUM) for _ in range(length))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _link(href: str) -> dict[str, str]:
    return {"href": href, "type": "text/html"}


def _check_locale(locale: object) -> str | None:
    if locale is not None and locale not in LOCALES:
        raise _MollieError(422, "The locale is invalid.", "locale")
    return locale  # type: ignore[return-value]


def _check_metadata(metadata: object) -> Any:
    if metadata is not None and len(json.dumps(metadata)) > _MAX_METADATA_BYTES:
        raise _MollieError(422, "The metadata is too large; keep it under 1KB.", "metadata")
    return metadata


def _hal(status: int, resource: Any) -> Response:
    return Response(json.dumps(resource), status=status, content_type="application/hal+json")


def _problem(status: int, detail: str, field: str | None = None) -> Response:
    problem: dict[str, Any] = {
        "status": status,
        "title": _TITLES.get(status, HTTP_STATUS_CODES.get(status, "Error")),
        "detail": detail,
    }
    if field:
        problem["field"] = field
    problem["_links"] = {"documentation": _link(_DOCS)}
    return _hal(status, problem)


@pytest.fixture
def mollie_stub() -> Iterator[MollieStub]:
    """A running Mollie stub, fresh per test."""
    with MollieStub() as stub:
        yield stub
