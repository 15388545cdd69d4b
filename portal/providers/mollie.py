"""Mollie adapter (API v2): one-off payments (iDEAL, card, Bancontact, PayPal), first payments
that leave a mandate behind, recurring charges on it, refunds, chargebacks, enabled methods.

First payment: create a Mollie customer, create a payment for it with `sequenceType=first`, send
the payer to `_links.checkout.href`; once paid, Mollie turns the payer's account into a
`directdebit` mandate (iDEAL, Bancontact) or the card into a `creditcard` mandate on that
customer. Recurring: `sequenceType=recurring` with `customerId` and `mandateId`, no customer
action. Webhooks carry only the payment id (also for its refunds and chargebacks); we always
re-fetch. Creating calls send an `Idempotency-Key` when given, so a retry makes one object.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

import httpx

from portal.providers.base import (
    SUPPORTED_CURRENCY,
    MandateState,
    PaymentNotFound,
    PaymentOrder,
    PaymentStatus,
    ProviderChargeback,
    ProviderError,
    ProviderMandate,
    ProviderMethod,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailable,
    RefundState,
    Sequence,
    Settlement,
    SettlementItem,
    SettlementLine,
    SettlementLineKind,
    SettlementsUnavailable,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MOLLIE_LOCALES",
    "MollieProvider",
    "cents_to_mollie_value",
    "mollie_value_to_cents",
    "to_mollie_locale",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.mollie.com"
USER_AGENT = f"sepa-mandate-portal/1.0 (Mollie adapter) httpx/{httpx.__version__}"

# Ids go into URL paths, so only the documented prefix plus ASCII letters and digits pass.
_PAYMENT_ID = re.compile(r"tr_[A-Za-z0-9]{1,64}")
_CUSTOMER_ID = re.compile(r"cst_[A-Za-z0-9]{1,64}")
_MANDATE_ID = re.compile(r"mdt_[A-Za-z0-9]{1,64}")
_REFUND_ID = re.compile(r"re_[A-Za-z0-9]{1,64}")
_CHARGEBACK_ID = re.compile(r"chb_[A-Za-z0-9]{1,64}")
_SETTLEMENT_ID = re.compile(r"stl_[A-Za-z0-9]{1,64}")
_SETTLEMENT_STATES = frozenset({"open", "pending", "paidout", "failed"})
#: Settlement report amounts: signed, two to four decimals ("-43.2000", "2.5410").
_REPORT_VALUE = re.compile(r"-?(0|[1-9][0-9]{0,15})\.[0-9]{2,4}")
_MAX_PAGES = 40
_REFUND_STATES: Mapping[str, RefundState] = {
    "queued": RefundState.PENDING, "pending": RefundState.PENDING,
    "processing": RefundState.PENDING, "refunded": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED, "canceled": RefundState.FAILED,
}
_MANDATE_STATES: Mapping[str, MandateState] = {
    "valid": MandateState.VALID, "pending": MandateState.PENDING, "invalid": MandateState.INVALID}
_LIST_LIMIT = 250
_API_KEY = re.compile(r"[A-Za-z0-9_]{1,255}")
# Mollie's EUR amounts: a string with exactly two decimals, e.g. "0.01" or "1234.56".
_EUR_VALUE = re.compile(r"(0|[1-9][0-9]{0,15})\.([0-9]{2})")

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_MAX_WEBHOOK_BODY = 1024
_MAX_DETAIL = 500
_MANDATE_PAGE_SIZE = 250  # Mollie's maximum; a portal customer holds one or two mandates.

_STATUSES: Mapping[str, PaymentStatus] = {
    "open": PaymentStatus.OPEN,
    "pending": PaymentStatus.PENDING,
    # Mollie uses `authorized` for methods that capture later; the money is not ours yet.
    "authorized": PaymentStatus.PENDING,
    "paid": PaymentStatus.PAID,
    "failed": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
    "expired": PaymentStatus.EXPIRED,
}

#: Locales Mollie's hosted checkout accepts for payments and customers.
MOLLIE_LOCALES = frozenset(
    {
        "en_US", "en_GB", "nl_NL", "nl_BE", "de_DE", "de_AT", "de_CH", "de_LU", "fr_FR",
        "fr_BE", "fr_LU", "es_ES", "ca_ES", "pt_PT", "it_IT", "nb_NO", "sv_SE", "fi_FI",
        "da_DK", "is_IS", "hu_HU", "pl_PL", "lv_LV", "lt_LT",
    }
)  # fmt: skip
_LANGUAGE_DEFAULTS = {
    "en": "en_US", "nl": "nl_NL", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "ca": "ca_ES",
    "pt": "pt_PT", "it": "it_IT", "nb": "nb_NO", "no": "nb_NO", "sv": "sv_SE", "fi": "fi_FI",
    "da": "da_DK", "is": "is_IS", "hu": "hu_HU", "pl": "pl_PL", "lv": "lv_LV", "lt": "lt_LT",
}  # fmt: skip


def cents_to_mollie_value(cents: int, currency: str = SUPPORTED_CURRENCY) -> str:
    """Format integer cents as Mollie's decimal string: 1 → "0.01", 123456 → "1234.56"."""
    _require_eur(currency)
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError("cents must be an int")
    if cents < 0:
        raise ValueError("cents must not be negative")
    return f"{cents // 100}.{cents % 100:02d}"


def mollie_value_to_cents(value: str, currency: str = SUPPORTED_CURRENCY) -> int:
    """Parse Mollie's decimal string into integer cents, exactly; anything else is a ValueError."""
    _require_eur(currency)
    match = _EUR_VALUE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a Mollie {SUPPORTED_CURRENCY} amount: {value!r:.40}")
    return int(match[1]) * 100 + int(match[2])


def to_mollie_locale(locale: str | None) -> str | None:
    """Map "nl", "nl-BE" or "de_DE" to a Mollie locale; None lets Mollie follow the browser."""
    if not locale:
        return None
    language, _, region = locale.strip().replace("-", "_").partition("_")
    exact = f"{language.lower()}_{region.upper()}"
    if exact in MOLLIE_LOCALES:
        return exact
    return _LANGUAGE_DEFAULTS.get(language.lower())


class MollieProvider:
    """PaymentProvider backed by Mollie's API v2 (tests use the local twin in tests/providers)."""

    name = "mollie"

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        organization_token: str | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not _API_KEY.fullmatch(api_key):
            raise ValueError("api_key must be a Mollie API key (letters, digits, underscores)")
        if organization_token is not None and not _API_KEY.fullmatch(organization_token):
            raise ValueError("organization_token must be a Mollie organization access token")
        url = httpx.URL(base_url)
        if url.scheme != "https" and url.host not in _LOOPBACK_HOSTS:
            raise ValueError("base_url must use https (plain http only for a local stub)")
        self._api_key = api_key
        #: Settlements are an organization's, not a profile's: they need this token.
        self._organization_token = organization_token
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._owns_client = client is None

    def __repr__(self) -> str:
        mode = "test" if self._api_key.startswith("test_") else "live"
        return f"MollieProvider(base_url={self._base_url!r}, mode={mode!r})"

    def close(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- PaymentProvider ------------------------------------------------------------------------

    def create_payment(self, request: PaymentOrder) -> ProviderPayment:
        """Create the customer (for a first payment without one) and the payment; a recurring
        one is charged on the given customer's mandate.

        If the payment call fails after the customer was created, the customer stays behind at
        Mollie unused; that is harmless and cheaper than a compensating delete.
        """
        value = cents_to_mollie_value(request.amount_cents, request.currency)
        locale = to_mollie_locale(request.locale)
        metadata = {str(key): str(item) for key, item in request.metadata.items()}
        body: dict[str, Any] = {
            "amount": {"currency": request.currency, "value": value},
            "description": request.description,
        }
        if request.sequence is not Sequence.RECURRING:
            body["redirectUrl"] = request.redirect_url
        if request.method:
            body["method"] = request.method
        if request.webhook_url:
            body["webhookUrl"] = request.webhook_url
        if locale:
            body["locale"] = locale
        if metadata:
            body["metadata"] = metadata
        if request.sequence is Sequence.FIRST:
            body["customerId"] = request.provider_customer_id or self._create_customer(
                request, locale, metadata)
            body["sequenceType"] = "first"
        elif request.sequence is Sequence.RECURRING:
            _require_id(request.provider_customer_id, _CUSTOMER_ID, "customer")
            _require_id(request.provider_mandate_id, _MANDATE_ID, "mandate")
            body["customerId"] = request.provider_customer_id
            body["mandateId"] = request.provider_mandate_id
            body["sequenceType"] = "recurring"
        elif request.provider_customer_id:
            body["customerId"] = request.provider_customer_id
        payment = self._call("POST", "/v2/payments", json_body=body,
                             idempotency_key=request.idempotency_key)
        return self._to_provider_payment(payment, look_up_mandate=False)

    def get_mandate(self, customer_id: str, mandate_id: str) -> ProviderMandate:
        """The mandate (SEPA account or card token) a first payment left on the customer."""
        _require_id(customer_id, _CUSTOMER_ID, "customer")
        _require_id(mandate_id, _MANDATE_ID, "mandate")
        data = self._call("GET", f"/v2/customers/{customer_id}/mandates/{mandate_id}")
        status = _MANDATE_STATES.get(str(data.get("status")))
        method = data.get("method")
        if status is None or method not in ("directdebit", "creditcard", "paypal"):
            raise ProviderError(f"Mollie returned an unknown mandate for {mandate_id}")
        details = data.get("details") if isinstance(data.get("details"), dict) else {}
        number = _opt_str(details.get("cardNumber"))
        return ProviderMandate(
            id=mandate_id, customer_id=customer_id, status=status, method=method,
            consumer_name=_opt_str(details.get("consumerName")),
            consumer_iban=_normalise_iban(details.get("consumerAccount")),
            consumer_bic=_opt_str(details.get("consumerBic")),
            card_holder=_opt_str(details.get("cardHolder")),
            card_last4=number[-4:] if number else None,
            card_label=_opt_str(details.get("cardLabel")),
            card_expiry=_opt_str(details.get("cardExpiryDate")))

    def create_refund(self, payment_id: str, amount_cents: int, *, description: str,
                      idempotency_key: str | None = None) -> ProviderRefund:
        """Refund part or all of a paid payment; Mollie refuses (422) more than remains."""
        _require_id(payment_id, _PAYMENT_ID, "payment")
        body = {"amount": {"currency": SUPPORTED_CURRENCY,
                           "value": cents_to_mollie_value(amount_cents)},
                "description": description[:140]}
        data = self._call("POST", f"/v2/payments/{payment_id}/refunds", json_body=body,
                          idempotency_key=idempotency_key)
        return self._to_refund(data, payment_id)

    def list_refunds(self, payment_id: str) -> list[ProviderRefund]:
        _require_id(payment_id, _PAYMENT_ID, "payment")
        data = self._call("GET", f"/v2/payments/{payment_id}/refunds",
                          params={"limit": _LIST_LIMIT})
        return [self._to_refund(item, payment_id) for item in _embedded(data, "refunds")]

    def list_chargebacks(self, payment_id: str) -> list[ProviderChargeback]:
        _require_id(payment_id, _PAYMENT_ID, "payment")
        data = self._call("GET", f"/v2/payments/{payment_id}/chargebacks",
                          params={"limit": _LIST_LIMIT})
        chargebacks = []
        for item in _embedded(data, "chargebacks"):
            chargeback_id = item.get("id")
            if not isinstance(chargeback_id, str) or not _CHARGEBACK_ID.fullmatch(chargeback_id):
                raise ProviderError("Mollie returned a chargeback without a valid id")
            reason = item.get("reason") if isinstance(item.get("reason"), dict) else {}
            chargebacks.append(ProviderChargeback(
                id=chargeback_id, payment_id=payment_id,
                amount_cents=_amount(item.get("amount"), chargeback_id),
                reason_code=_opt_str(reason.get("code")),
                reason=_opt_str(reason.get("description")),
                reversed=item.get("reversedAt") is not None))
        return chargebacks

    def enabled_methods(self, sequence: Sequence = Sequence.ONEOFF,
                        amount_cents: int | None = None) -> list[ProviderMethod]:
        """The methods enabled on the profile for such a payment (not paginated at Mollie)."""
        params: dict[str, str | int] = {"sequenceType": sequence.value}
        if amount_cents is not None:
            params["amount[value]"] = cents_to_mollie_value(amount_cents)
            params["amount[currency]"] = SUPPORTED_CURRENCY
        data = self._call("GET", "/v2/methods", params=params)
        methods = []
        for item in _embedded(data, "methods"):
            method_id = item.get("id")
            if not isinstance(method_id, str):
                continue
            methods.append(ProviderMethod(
                id=method_id, description=_opt_str(item.get("description")) or method_id,
                minimum_cents=_optional_amount(item.get("minimumAmount")),
                maximum_cents=_optional_amount(item.get("maximumAmount"))))
        return methods

    def list_settlements(self, limit: int = 50) -> list[Settlement]:
        """The newest settlements (Settlements API, organization access token only)."""
        data = self._call("GET", "/v2/settlements", params={"limit": min(limit, _LIST_LIMIT)},
                          token=self._settlements_token())
        return [_to_settlement(item) for item in _embedded(data, "settlements")]

    def list_settlement_items(self, settlement_id: str) -> list[SettlementItem]:
        """The payments, refunds and chargebacks in a settlement, every page of each."""
        _require_id(settlement_id, _SETTLEMENT_ID, "settlement")
        token = self._settlements_token()
        items: list[SettlementItem] = []
        for kind, name, pattern in (("payment", "payments", _PAYMENT_ID),
                                    ("refund", "refunds", _REFUND_ID),
                                    ("chargeback", "chargebacks", _CHARGEBACK_ID)):
            params: dict[str, str | int] = {"limit": _LIST_LIMIT}
            for _ in range(_MAX_PAGES):
                data = self._call("GET", f"/v2/settlements/{settlement_id}/{name}",
                                  params=params, token=token)
                for item in _embedded(data, name):
                    items.append(_to_settlement_item(kind, item, pattern))
                after = _next_from(data)
                if after is None:
                    break
                params = {"limit": _LIST_LIMIT, "from": after}
        return items

    def _settlements_token(self) -> str:
        if not self._organization_token:
            raise SettlementsUnavailable(
                "Mollie reports settlements only to an organization access token "
                "(PORTAL_MOLLIE_ORGANIZATION_TOKEN)")
        return self._organization_token

    def get_payment(self, payment_id: str) -> ProviderPayment:
        """Fetch a payment; a malformed id raises PaymentNotFound without calling Mollie."""
        if not isinstance(payment_id, str) or not _PAYMENT_ID.fullmatch(payment_id):
            raise PaymentNotFound("not a Mollie payment id", status=None)
        payment = self._call("GET", f"/v2/payments/{payment_id}", not_found=PaymentNotFound)
        return self._to_provider_payment(payment, look_up_mandate=True)

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        """Return the `tr_…` id Mollie posted as `id=…`; fetch the payment before trusting it."""
        payment_id = form.get("id") if form else None
        if payment_id is None and body:
            payment_id = _id_from_form_body(body)
        if not isinstance(payment_id, str) or not _PAYMENT_ID.fullmatch(payment_id):
            raise ProviderError("Mollie webhook without a valid payment id")
        return payment_id

    # -- Mollie calls ---------------------------------------------------------------------------

    def _create_customer(
        self, request: PaymentOrder, locale: str | None, metadata: Mapping[str, str]
    ) -> str:
        body: dict[str, Any] = {"name": request.customer_name}
        if request.customer_email:
            body["email"] = request.customer_email
        if locale:
            body["locale"] = locale
        if metadata:
            body["metadata"] = dict(metadata)
        customer = self._call("POST", "/v2/customers", json_body=body)
        customer_id = customer.get("id")
        if not isinstance(customer_id, str) or not _CUSTOMER_ID.fullmatch(customer_id):
            raise ProviderError("Mollie returned a customer without a valid id")
        return customer_id

    def _find_mandate(self, customer_id: str, payer_iban: str) -> str | None:
        """The newest valid or pending direct-debit mandate of this customer for this IBAN."""
        listing = self._call(
            "GET",
            f"/v2/customers/{customer_id}/mandates",
            params={"limit": _MANDATE_PAGE_SIZE},
        )
        embedded = listing.get("_embedded")
        mandates = embedded.get("mandates") if isinstance(embedded, dict) else None
        candidates: list[tuple[datetime, int, str]] = []
        for position, mandate in enumerate(mandates if isinstance(mandates, list) else []):
            if not isinstance(mandate, dict):
                continue
            details = mandate.get("details")
            account = details.get("consumerAccount") if isinstance(details, dict) else None
            mandate_id = mandate.get("id")
            if (
                mandate.get("method") == "directdebit"
                and mandate.get("status") in ("valid", "pending")
                and _normalise_iban(account) == payer_iban
                and isinstance(mandate_id, str)
                and _MANDATE_ID.fullmatch(mandate_id)
            ):
                # Mollie lists newest first; on equal timestamps the earlier entry wins.
                candidates.append((_parse_time(mandate.get("createdAt")), -position, mandate_id))
        return max(candidates)[2] if candidates else None

    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        not_found: type[ProviderError] = ProviderError,
        idempotency_key: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """One authenticated request; every failure becomes a ProviderError without the key."""
        headers = {
            "Authorization": f"Bearer {token or self._api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/hal+json, application/json",
        }
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self._client.request(
                method,
                self._base_url + path,
                json=json_body,
                params=params,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            log.warning("Mollie %s %s timed out after %ss", method, path, self._timeout)
            raise ProviderUnavailable(
                f"Mollie did not answer {method} {path} within {self._timeout}s"
            ) from exc
        except httpx.TransportError as exc:
            log.warning("Mollie %s %s unreachable: %s", method, path, type(exc).__name__)
            raise ProviderUnavailable(
                f"Mollie unreachable for {method} {path}: {type(exc).__name__}"
            ) from exc

        status = response.status_code
        log.debug("Mollie %s %s -> %s", method, path, status)
        if response.is_success:
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise ProviderError(
                    f"Mollie answered {method} {path} without a JSON object", status=status
                )
            return data

        message = self._describe_error(response)
        log.warning("Mollie %s %s failed: %s", method, path, message)
        if status in (408, 429) or status >= 500:
            raise ProviderUnavailable(message, status=status)
        if status == 404:
            raise not_found(message, status=status)
        raise ProviderError(message, status=status, field=self._error_field(response))

    @staticmethod
    def _error_field(response: httpx.Response) -> str | None:
        try:
            problem = response.json()
        except ValueError:
            return None
        field = problem.get("field") if isinstance(problem, dict) else None
        return field[:100] if isinstance(field, str) else None

    def _describe_error(self, response: httpx.Response) -> str:
        """Mollie's problem JSON (status, title, detail, field) as one line, key redacted."""
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict):
            problem = {}
        title = (
            _opt_str(problem.get("title"))
            or httpx.codes.get_reason_phrase(response.status_code)
            or "Error"
        )
        detail = _opt_str(problem.get("detail"))
        field = _opt_str(problem.get("field"))
        message = f"Mollie {response.status_code} {title}"
        if detail:
            message += f": {detail[:_MAX_DETAIL]}"
        if field:
            message += f" (field {field[:100]})"
        message = message.replace(self._api_key, "[redacted]")
        if self._organization_token:
            message = message.replace(self._organization_token, "[redacted]")
        return message

    # -- Mapping --------------------------------------------------------------------------------

    def _to_provider_payment(
        self, data: Mapping[str, Any], *, look_up_mandate: bool
    ) -> ProviderPayment:
        payment_id = data.get("id")
        if not isinstance(payment_id, str) or not _PAYMENT_ID.fullmatch(payment_id):
            raise ProviderError("Mollie returned a payment without a valid id")
        raw_status = data.get("status")
        status = _STATUSES.get(raw_status) if isinstance(raw_status, str) else None
        if status is None:
            raise ProviderError(
                f"Mollie returned unknown status {str(raw_status)[:40]!r} for {payment_id}"
            )
        amount = data.get("amount")
        try:
            currency = amount["currency"]
            amount_cents = mollie_value_to_cents(amount["value"], currency)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"Mollie returned a malformed amount for {payment_id}") from exc

        details = data.get("details")
        details = details if isinstance(details, dict) else {}
        payer_iban = _normalise_iban(details.get("consumerAccount"))
        customer_id = _optional_id(data.get("customerId"), _CUSTOMER_ID, "customer")
        mandate_id = _optional_id(data.get("mandateId"), _MANDATE_ID, "mandate")
        if (
            mandate_id is None
            and look_up_mandate
            and status is PaymentStatus.PAID
            and customer_id is not None
            and payer_iban is not None
        ):
            mandate_id = self._find_mandate(customer_id, payer_iban)

        sequence_value = data.get("sequenceType")
        try:
            sequence = Sequence(sequence_value) if sequence_value else Sequence.ONEOFF
        except ValueError:
            sequence = Sequence.ONEOFF
        failure = _opt_str(details.get("failureReason")) or _opt_str(
            details.get("bankReasonCode"))
        links = data.get("_links")
        checkout = links.get("checkout") if isinstance(links, dict) else None
        checkout_url = _opt_str(checkout.get("href")) if isinstance(checkout, dict) else None
        metadata = data.get("metadata")
        return ProviderPayment(
            id=payment_id,
            status=status,
            amount_cents=amount_cents,
            currency=currency,
            checkout_url=checkout_url,
            payer_name=_opt_str(details.get("consumerName")),
            payer_iban=payer_iban,
            payer_bic=_opt_str(details.get("consumerBic")),
            provider_mandate_id=mandate_id,
            provider_customer_id=customer_id,
            metadata=_string_metadata(metadata),
            method=_opt_str(data.get("method")),
            sequence=sequence,
            refunded_cents=_optional_amount(data.get("amountRefunded")) or 0,
            charged_back_cents=_optional_amount(data.get("amountChargedBack")) or 0,
            failure_reason=failure,
        )

    def _to_refund(self, data: Mapping[str, Any], payment_id: str) -> ProviderRefund:
        refund_id = data.get("id")
        if not isinstance(refund_id, str) or not _REFUND_ID.fullmatch(refund_id):
            raise ProviderError("Mollie returned a refund without a valid id")
        raw = str(data.get("status"))
        state = _REFUND_STATES.get(raw)
        if state is None:
            raise ProviderError(f"Mollie returned unknown refund status {raw[:40]!r}")
        return ProviderRefund(id=refund_id, payment_id=payment_id,
                              amount_cents=_amount(data.get("amount"), refund_id),
                              status=state, raw_status=raw)


def _require_id(value: str | None, pattern: re.Pattern[str], kind: str) -> None:
    """Ids go into paths and bodies: only the documented shape passes, without a call."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ProviderError(f"not a Mollie {kind} id", status=None)


def _amount(value: object, owner: str) -> int:
    try:
        return mollie_value_to_cents(value["value"], value["currency"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderError(f"Mollie returned a malformed amount for {owner}") from exc


def _optional_amount(value: object) -> int | None:
    if not isinstance(value, dict):
        return None
    try:
        return mollie_value_to_cents(value.get("value"), value.get("currency", "EUR"))
    except ValueError:
        return None


def _embedded(data: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    embedded = data.get("_embedded")
    items = embedded.get(name) if isinstance(embedded, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _require_eur(currency: str) -> None:
    if currency != SUPPORTED_CURRENCY:
        raise ValueError(f"only {SUPPORTED_CURRENCY} is supported, not {currency!r:.20}")


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _normalise_iban(value: object) -> str | None:
    text = _opt_str(value)
    return "".join(text.split()).upper() if text else None


def _optional_id(value: object, pattern: re.Pattern[str], kind: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ProviderError(f"Mollie returned a malformed {kind} id")
    return value


def _string_metadata(value: object) -> dict[str, str]:
    """Our metadata goes out as strings; anything else Mollie hands back is stringified."""
    if not isinstance(value, dict):
        return {}
    return {str(key): item if isinstance(item, str) else str(item) for key, item in value.items()}


def _parse_time(value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _id_from_form_body(body: bytes) -> str | None:
    """`id` from a raw `application/x-www-form-urlencoded` body; None unless exactly one."""
    if len(body) > _MAX_WEBHOOK_BODY:
        return None
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None
    ids = fields.get("id", [])
    return ids[0] if len(ids) == 1 else None


def _report_amount(value: object, owner: str) -> Decimal:
    """A settlement report's signed amount, exact (``{"value": "-43.2000", ...}``)."""
    text = value.get("value") if isinstance(value, dict) else None
    if not isinstance(text, str) or not _REPORT_VALUE.fullmatch(text) or (
            isinstance(value, dict) and value.get("currency", "EUR") != SUPPORTED_CURRENCY):
        raise ProviderError(f"Mollie returned a malformed amount for {owner}")
    return Decimal(text)


def _optional_decimal(value: object) -> Decimal | None:
    if isinstance(value, dict):
        value = value.get("value")
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _to_settlement(data: Mapping[str, Any]) -> Settlement:
    settlement_id = data.get("id")
    if not isinstance(settlement_id, str) or not _SETTLEMENT_ID.fullmatch(settlement_id):
        raise ProviderError("Mollie returned a settlement without a valid id")
    status = str(data.get("status"))
    if status not in _SETTLEMENT_STATES:
        raise ProviderError(f"Mollie returned unknown settlement status {status[:40]!r}")
    total = _report_amount(data.get("amount"), settlement_id)
    lines: list[SettlementLine] = []
    periods = data.get("periods") if isinstance(data.get("periods"), dict) else {}
    for year in sorted(periods):
        months = periods[year] if isinstance(periods[year], dict) else {}
        for month in sorted(months):
            period = months[month] if isinstance(months[month], dict) else {}
            for kind, key in ((SettlementLineKind.REVENUE, "revenue"),
                              (SettlementLineKind.COST, "costs")):
                for item in period.get(key) or []:
                    if not isinstance(item, dict):
                        continue
                    rate = item.get("rate") if isinstance(item.get("rate"), dict) else {}
                    count = item.get("count")
                    lines.append(SettlementLine(
                        kind=kind, description=_opt_str(item.get("description")) or key,
                        method=_opt_str(item.get("method")),
                        count=count if isinstance(count, int) else 0,
                        amount=_report_amount(item.get("amountGross"), settlement_id),
                        rate_fixed=_optional_decimal(rate.get("fixed")),
                        rate_percentage=_optional_decimal(rate.get("percentage"))))
    settled = data.get("settledAt")
    return Settlement(
        id=settlement_id, reference=_opt_str(data.get("reference")), status=status,
        settled_at=_parse_time(settled) if isinstance(settled, str) else None,
        amount_cents=int((total * 100).to_integral_value()), lines=tuple(lines))


def _to_settlement_item(kind: str, data: Mapping[str, Any],
                        pattern: re.Pattern[str]) -> SettlementItem:
    item_id = data.get("id")
    if not isinstance(item_id, str) or not pattern.fullmatch(item_id):
        raise ProviderError(f"Mollie returned a settlement {kind} without a valid id")
    payment_id = item_id if kind == "payment" else data.get("paymentId")
    if not isinstance(payment_id, str) or not _PAYMENT_ID.fullmatch(payment_id):
        raise ProviderError(f"Mollie returned a settlement {kind} without its payment")
    amount = abs(_report_amount(data.get("amount"), item_id))
    return SettlementItem(kind=kind, id=item_id, payment_id=payment_id,
                          amount_cents=int((amount * 100).to_integral_value()),
                          method=_opt_str(data.get("method")))


def _next_from(data: Mapping[str, Any]) -> str | None:
    """The ``from`` of the next page, read from ``_links.next.href``."""
    links = data.get("_links") if isinstance(data.get("_links"), dict) else {}
    following = links.get("next") if isinstance(links.get("next"), dict) else None
    href = following.get("href") if following else None
    if not isinstance(href, str):
        return None
    values = parse_qs(httpx.URL(href).query.decode("ascii", "replace")).get("from", [])
    return values[0] if values else None
