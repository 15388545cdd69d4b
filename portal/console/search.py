"""Finding mandates from one search box, within the staff member's merchants.

What is typed is read as every kind of key it could be, each matched through an index: a public
id (mandate, invitation, verification payment, payment, payment request, debit, invoice,
customer) or an IBAN exactly (through the keyed hash, so the IBAN stays encrypted); otherwise a
mandate reference with or without separators, the last four characters of an account, the
merchant's customer reference, the start of an email address or of one of its parts, and the
starts of the words of a customer's name (case and accents ignored). Filters narrow by merchant,
status, scheme and creation date; results come newest first, a page at a time."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    exists,
    false,
    func,
    select,
    union,
)
from sqlalchemy.orm import Session, aliased, joinedload

from portal.collections.models import Debit
from portal.console.mandate_page import abandoned_attempts
from portal.console.roles import Scope
from portal.ids import looks_like
from portal.invoices.models import Invoice
from portal.mandates.models import (
    Customer,
    CustomerSearchTerm,
    Invitation,
    Mandate,
    MandateStatus,
    Scheme,
)
from portal.mandates.search_keys import compact_key, email_query, name_words
from portal.mandates.service import has_iban
from portal.merchants.models import Merchant
from portal.payments.models import Payment, PaymentRequest
from portal.sepa import IbanError, normalize_iban, validate_iban
from portal.verification.models import VerificationPayment

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 254
MAX_PAGE = 200
#: A reference typed this far is also matched as the start of longer ones.
REFERENCE_PREFIX_LENGTH = 6
#: Partial keys (name words, email parts) need at least this many characters.
PARTIAL_LENGTH = 2
_DIGITS4 = re.compile(r"\d{4}")
#: A query for mandate (or customer) ids: one SELECT, or a UNION of them.
Ids = Select | CompoundSelect
_MASK = re.compile(r"[•*]")


class SearchInputError(ValueError):
    """A filter that cannot be read; ``errors`` maps the field to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SearchRequest:
    """What the search form asked for, checked (but not yet looked up)."""

    query: str = ""
    merchant: str | None = None
    status: MandateStatus | None = None
    scheme: Scheme | None = None
    created_from: date | None = None
    created_to: date | None = None
    page: int = 1

    @property
    def asked(self) -> bool:
        """Anything to search for: a query or a filter."""
        return bool(self.query or self.merchant or self.status or self.scheme
                    or self.created_from or self.created_to)

    def filters(self) -> dict[str, Any]:
        """The filters set, for the audit trail and the next page's link."""
        values = asdict(self)
        values.pop("query")
        values.pop("page")
        return {name: (value.value if hasattr(value, "value") else
                       value.isoformat() if isinstance(value, date) else value)
                for name, value in values.items() if value is not None}


def _choice(enum_type: type, value: str, name: str, errors: dict[str, str]) -> Any:
    if not value:
        return None
    try:
        return enum_type(value)
    except ValueError:
        errors[name] = "not one of the choices"
        return None


def _date(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "not a date (YYYY-MM-DD)"
        return None


def parse_search(args: Any) -> SearchRequest:
    """The search form's fields from a query string; SearchInputError for unreadable filters.
    The query itself is free text: anything (cut to its maximum length) is a valid query."""
    errors: dict[str, str] = {}
    # PostgreSQL refuses NUL characters in text; nobody types them.
    query = (args.get("q") or "")[:MAX_QUERY_LENGTH].replace("\x00", "").strip()
    merchant = (args.get("merchant") or "").strip() or None
    if merchant is not None and not looks_like(merchant, "mer"):
        errors["merchant"] = "not a merchant id"
    status = _choice(MandateStatus, args.get("status") or "", "status", errors)
    scheme = _choice(Scheme, args.get("scheme") or "", "scheme", errors)
    created_from = _date(args.get("from") or "", "from", errors)
    created_to = _date(args.get("to") or "", "to", errors)
    if created_from and created_to and created_to < created_from:
        errors["to"] = "before the start date"
    try:
        page = int(args.get("page") or 1)
    except ValueError:
        page = 0
    if not 1 <= page <= MAX_PAGE:
        errors["page"] = f"a page number from 1 to {MAX_PAGE}"
    if errors:
        raise SearchInputError(errors)
    return SearchRequest(query, merchant, status, scheme, created_from, created_to, page)


@dataclass
class SearchResult:
    mandates: list[Mandate]
    page: int
    has_next: bool
    #: The kinds of key the query was read as (``id``, ``iban``, ``text``), for the page.
    read_as: str | None = None
    merchants: list[Merchant] = field(default_factory=list)
    #: Mandates whose attempt was given up, by row id (``mandate_page.ABANDONED_LABELS`` keys).
    abandoned: dict[int, str] = field(default_factory=dict)


def _prefix(column: Any, start: str) -> ColumnElement[bool]:
    """``column`` starts with ``start``, as a range an ordinary B-tree index serves on both
    databases (a LIKE would need a pattern index on PostgreSQL and escaping of % and _). The
    range is exactly the prefixes because the search keys compare in code-point order on both
    (``portal.mandates.models.search_key``: SQLite's BINARY, the "C" collation on PostgreSQL);
    with no further condition the planner estimates the range from the index's statistics and
    so picks the cheaper way to join the other words of a name."""
    following = ord(start[-1]) + 1
    if following > 0x10FFFF:  # no bound after the last code point: compare the start too
        return (column >= start) & (func.substr(column, 1, len(start)) == start)
    if 0xD800 <= following <= 0xDFFF:  # no surrogate in a bound string
        following = 0xE000
    return (column >= start) & (column < start[:-1] + chr(following))


def _customer_mandates(customer_ids: Ids) -> Select:
    return select(Mandate.id).where(Mandate.customer_id.in_(customer_ids))


def _by_public_id(session: Session, query: str) -> Select | None:
    """The mandates a public id names, or None if it looks like no id we search by."""
    if looks_like(query, "md"):
        return select(Mandate.id).where(Mandate.public_id == query)
    if looks_like(query, "inv"):
        return select(Invitation.mandate_id).where(Invitation.public_id == query)
    if looks_like(query, "pay"):
        return select(VerificationPayment.mandate_id).where(
            VerificationPayment.public_id == query)
    if looks_like(query, "dbt"):
        return select(Debit.mandate_id).where(Debit.public_id == query)
    if looks_like(query, "cus"):
        return _customer_mandates(select(Customer.id).where(Customer.public_id == query))
    if looks_like(query, "ptx"):
        # The mandate this payment signed, or else every mandate of the customer who paid.
        row = session.execute(select(Payment.mandate_id, PaymentRequest.customer_id)
                              .join(PaymentRequest, Payment.request_id == PaymentRequest.id)
                              .where(Payment.public_id == query)).first()
        return _one_or_customers(row)
    if looks_like(query, "preq"):
        return _customer_mandates(select(PaymentRequest.customer_id)
                                  .where(PaymentRequest.public_id == query))
    if looks_like(query, "in"):
        row = session.execute(select(Invoice.mandate_id, Invoice.customer_id)
                              .where(Invoice.public_id == query)).first()
        return _one_or_customers(row)
    return None


def _one_or_customers(row: Any) -> Select:
    if row is None:
        return select(Mandate.id).where(false())
    mandate_id, customer_id = row
    if mandate_id is not None:
        return select(Mandate.id).where(Mandate.id == mandate_id)
    return select(Mandate.id).where(Mandate.customer_id == customer_id)


def _last4(query: str) -> str | None:
    """Four digits, or a masked IBAN as the console shows it ('NL91 •••• •••• ••43 00')."""
    compact = query.replace(" ", "")
    if _DIGITS4.fullmatch(compact):
        return compact
    if _MASK.search(compact) and len(tail := compact[-4:]) == 4 and not _MASK.search(tail):
        return tail.upper()
    return None


def _by_text(query: str, merchant_ids: list[int] | None) -> Ids | None:
    """The union of every text key the query could be; None when it is too short for any."""
    def terms(kind: str, start: str, *, whole: bool = False) -> Select:
        found = select(CustomerSearchTerm.customer_id).where(
            CustomerSearchTerm.kind == kind,
            CustomerSearchTerm.term == start if whole
            else _prefix(CustomerSearchTerm.term, start))
        return _in_merchants(found, CustomerSearchTerm, merchant_ids)

    mandates: list[Ids] = []
    customers: list[Ids] = []
    key = compact_key(query)
    if key:
        reference = (_prefix(Mandate.reference_key, key) if len(key) >= REFERENCE_PREFIX_LENGTH
                     else Mandate.reference_key == key)
        mandates.append(select(Mandate.id).where(reference))
        customers.append(terms("ext", key, whole=True))
    if last4 := _last4(query):
        mandates.append(select(Mandate.id).where(Mandate.iban_last4 == last4))
    email = email_query(query)
    if len(email) >= PARTIAL_LENGTH and not any(c.isspace() for c in email):
        customers.append(terms("email", email))
    words = name_words(query) if "@" not in query else []
    if words and sum(map(len, words)) >= PARTIAL_LENGTH:
        customers.append(_by_name_words(words, merchant_ids))
    if customers:
        mandates.append(_customer_mandates(
            customers[0] if len(customers) == 1 else union(*customers)))
    if not mandates:
        return None
    return mandates[0] if len(mandates) == 1 else union(*mandates)


def _in_merchants(statement: Select, terms: Any, merchant_ids: list[int] | None) -> Select:
    if merchant_ids is None:
        return statement
    return statement.where(terms.merchant_id.in_(merchant_ids))


def _by_name_words(words: list[str], merchant_ids: list[int] | None) -> Select:
    """Customers with a name word starting with each of ``words``. The index is read for the
    longest (most telling) word only; the others are checked among each candidate's own few
    terms, so a common word ('van', 'de') costs nothing beside a rare one."""
    longest, *others = sorted(words, key=len, reverse=True)
    driver = aliased(CustomerSearchTerm)
    statement = select(driver.customer_id).where(driver.kind == "name",
                                                 _prefix(driver.term, longest))
    for word in others:
        other = aliased(CustomerSearchTerm)
        statement = statement.where(exists().where(
            other.customer_id == driver.customer_id, other.kind == "name",
            _prefix(other.term, word)))
    return _in_merchants(statement, driver, merchant_ids)


def search_mandates(session: Session, request: SearchRequest, scope: Scope, *,
                    now: datetime | None = None) -> SearchResult:
    """One page of the mandates matching ``request`` among ``scope``'s merchants, newest first;
    with ``now``, which of them are abandoned attempts (a failed cent, an expired link).

    A merchant filter outside the scope finds nothing, as an unknown one does."""
    merchants = list(session.scalars(select(Merchant).where(scope.condition(Merchant.id))
                                     .order_by(Merchant.display_name, Merchant.id)))
    result = SearchResult([], request.page, False, merchants=merchants)
    if not request.asked:
        return result
    in_merchants: ColumnElement[bool] = scope.condition(Mandate.merchant_id)
    term_merchants = None if scope.merchant_ids is None else sorted(scope.merchant_ids)
    if request.merchant is not None:
        chosen = next((m for m in merchants if m.public_id == request.merchant), None)
        if chosen is None:
            return result
        in_merchants = Mandate.merchant_id == chosen.id
        term_merchants = [chosen.id]
    statement = select(Mandate).where(in_merchants)
    if request.query:
        ids: Ids | None = _by_public_id(session, request.query)
        result.read_as = "id"
        if ids is None:
            try:
                account = validate_iban(normalize_iban(request.query))
            except IbanError:
                ids = _by_text(request.query, term_merchants)
                result.read_as = "text"
            else:
                statement = statement.where(has_iban(session, account.iban))
                result.read_as = "iban"
        if result.read_as != "iban":
            if ids is None:
                return result
            statement = statement.where(Mandate.id.in_(ids))
    if request.status is not None:
        statement = statement.where(Mandate.status == request.status)
    if request.scheme is not None:
        statement = statement.where(Mandate.scheme == request.scheme)
    if request.created_from is not None:
        statement = statement.where(Mandate.created_at >= _midnight(request.created_from))
    if request.created_to is not None:
        statement = statement.where(
            Mandate.created_at < _midnight(request.created_to + timedelta(days=1)))
    rows = list(session.scalars(
        statement.options(joinedload(Mandate.customer))
        .order_by(Mandate.created_at.desc(), Mandate.id.desc())
        .offset((request.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    result.mandates, result.has_next = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    if now is not None:
        result.abandoned = abandoned_attempts(session, result.mandates, now)
    return result


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)

