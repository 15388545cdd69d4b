"""Console search on both databases: every kind of key finds its mandate, the filters narrow, the
pages come newest first, and staff of one merchant never see another's mandates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.models import Debit, DebitStatus, Route, SeqType
from portal.console.roles import Scope
from portal.console.search import (
    PAGE_SIZE,
    SearchInputError,
    SearchRequest,
    parse_search,
    search_mandates,
)
from portal.ids import new_public_id
from portal.invoices.models import CollectionKind, Invoice, InvoiceStatus
from portal.mandates.models import (
    CustomerSearchTerm,
    Mandate,
    MandateStatus,
    Scheme,
    SigningMethod,
)
from portal.mandates.search_keys import email_terms, fold, name_words, reference_key
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from portal.payments.models import Payment, PaymentRequest, PaymentSource, RequestStatus
from portal.providers.base import PaymentStatus
from portal.verification.models import VerificationPayment
from tests.conftest import migrated_database
from tests.factories import make_invitation, make_merchant
from tests.seeded_template import SeededTemplates, module_templates

IBAN = "NL91ABNA0417164300"
OTHER_IBAN = "DE89370400440532013000"
EVERYONE = Scope(None)


@dataclass
class Shop:
    merchant: Merchant
    mandate: Mandate
    ids: dict[str, str]


def _mandate(session: Session, merchant: Merchant, *, name: str, email: str | None,
             external_reference: str | None = None, iban: str | None = None,
             created: datetime | None = None, scheme: Scheme = Scheme.CORE) -> Mandate:
    methods = ((SigningMethod.BANK_EMANDATE,) if scheme is Scheme.B2B
               else (SigningMethod.PAYMENT_VERIFICATION,))
    invitation = make_invitation(session, merchant, customer_name=name, customer_email=email,
                                 external_reference=external_reference, scheme=scheme,
                                 signing_methods=methods)
    mandate = invitation.mandate
    if iban:
        set_debtor_account(session, mandate, iban, None)
    if created is not None:
        mandate.created_at = created
    session.flush()
    return mandate


def _linked_ids(session: Session, mandate: Mandate) -> dict[str, str]:
    """A verification payment, a payment request with a payment, a debit and an invoice of the
    mandate (or its customer), as a support desk would be given them."""
    now = mandate.created_at
    merchant_id, customer_id = mandate.merchant_id, mandate.customer_id
    verification = VerificationPayment(
        public_id=new_public_id("pay"), merchant_id=merchant_id, mandate_id=mandate.id,
        provider="sandbox", amount_cents=1, currency="EUR", status=PaymentStatus.PAID,
        status_history=[], created_at=now, updated_at=now)
    request = PaymentRequest(
        public_id=new_public_id("preq"), merchant_id=merchant_id, customer_id=customer_id,
        amount_cents=1000, currency="EUR", description="Order 1", expires_at=now,
        status=RequestStatus.OPEN, created_at=now, updated_at=now)
    session.add_all([verification, request])
    session.flush()
    payment = Payment(public_id=new_public_id("ptx"), merchant_id=merchant_id,
                      request_id=request.id, source=PaymentSource.EXTERNAL,
                      status=PaymentStatus.PAID, amount_cents=1000, created_at=now,
                      updated_at=now)
    debit = Debit(public_id=new_public_id("dbt"), merchant_id=merchant_id, mandate_id=mandate.id,
                  customer_id=customer_id, route=Route.BANK, scheme="CORE",
                  status=DebitStatus.SCHEDULED, amount_cents=500, original_amount_cents=500,
                  description="Monthly", collection_date=now.date(),
                  sequence_type=SeqType.FIRST, created_at=now, updated_at=now)
    invoice = Invoice(public_id=new_public_id("in"), merchant_id=merchant_id,
                      customer_id=customer_id, mandate_id=mandate.id, number="INV-1",
                      description="Invoice", currency="EUR", net_cents=100, vat_cents=21,
                      amount_cents=121, issue_date=now.date(), due_date=now.date(),
                      status=InvoiceStatus.OPEN, collection=CollectionKind.DEBIT,
                      created_at=now, updated_at=now)
    session.add_all([payment, debit, invoice])
    session.flush()
    return {"invitation": mandate.invitations[0].public_id, "verification": verification.public_id,
            "payment request": request.public_id, "payment": payment.public_id,
            "debit": debit.public_id, "invoice": invoice.public_id,
            "customer": mandate.customer.public_id, "mandate": mandate.public_id}


def _seed_shops(app: Flask, session: Session) -> list[tuple[int, int, dict[str, str]]]:
    """Two merchants with a look-alike customer each: the same IBAN, a similar name."""
    a = make_merchant(session, legal_name="Bakkerij A B.V.", creditor_id="NL69ZZZ123456780000")
    b = make_merchant(session, legal_name="Slagerij B B.V.", creditor_id="DE98ZZZ09999999999")
    mine = _mandate(session, a, name="José Ødegård-van Vries", email="Jose.Odegard@Bakker.example",
                    external_reference="CRM-00042", iban=IBAN)
    theirs = _mandate(session, b, name="Josefien Vriesema", email="josefien@slager.example",
                      external_reference="CRM-00042", iban=IBAN)
    session.commit()
    made = [(a.id, mine.id, _linked_ids(session, mine)),
            (b.id, theirs.id, _linked_ids(session, theirs))]
    session.commit()
    return made


@pytest.fixture(scope="module")
def seeded_shops() -> Iterator[SeededTemplates]:
    """The two shops, made once per module and backend (tests/seeded_template.py)."""
    yield from module_templates("shops", _seed_shops)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path,
                 seeded_shops: SeededTemplates) -> str:
    """A copy of the shops for the tests that use them; the migrated template for the others."""
    if "shops" in request.fixturenames:
        return seeded_shops.copy(request, backend, tmp_path)
    return migrated_database(request, backend, tmp_path)


@pytest.fixture
def shops(request: pytest.FixtureRequest, session: Session, backend: str,
          seeded_shops: SeededTemplates) -> tuple[Shop, Shop]:
    """The two shops, loaded in this test's session."""
    (a, mine, linked_a), (b, theirs, linked_b) = seeded_shops.template(request, backend).seeded
    return (Shop(session.get(Merchant, a), session.get(Mandate, mine), dict(linked_a)),
            Shop(session.get(Merchant, b), session.get(Mandate, theirs), dict(linked_b)))


def _found(session: Session, query: str = "", scope: Scope = EVERYONE, **filters) -> list[str]:
    result = search_mandates(session, SearchRequest(query=query, **filters), scope)
    return [mandate.public_id for mandate in result.mandates]


def test_keys_are_normalised_once() -> None:
    assert fold("Ångström-Ødegård Łukasz ß") == "angstrom-odegard lukasz ss"
    assert name_words("José Ødegård-van Vries") == ["jose", "odegard", "van", "vries"]
    assert email_terms("Sam.de-Vries@Ex.org") == [
        "sam.de-vries@ex.org", "de-vries@ex.org", "vries@ex.org", "ex.org", "org"]
    assert reference_key("md-7k3q 9xw2/h4tp") == "MD7K3Q9XW2H4TP"


@pytest.mark.parametrize("query", [
    "{reference}", "{reference_lower}", "{reference_bare}", "{reference_spaced}",
    "{reference_start}",
    "jose", "JOSÉ", "odeg", "ødegård", "vries jose", "van vri", "jose odegard-van vries",
    "jose.odegard@bakker.example", "odegard@bakk", "Jose.Ode", "bakker.example",
    "CRM-00042", "crm00042", "crm 00042",
    "NL91 ABNA 0417 1643 00", "nl91abna0417164300", "IBAN NL91ABNA0417164300",
    "4300", "NL91 •••• •••• ••43 00",
])
def test_each_text_key_finds_the_mandate(session: Session, shops: tuple[Shop, Shop],
                                         query: str) -> None:
    mine, _ = shops
    reference = mine.mandate.reference
    query = query.format(reference=reference, reference_lower=reference.lower(),
                         reference_bare=reference.replace("-", ""),
                         reference_spaced=reference.replace("-", " "),
                         reference_start=reference[:8])
    assert mine.mandate.public_id in _found(session, query), query
    assert _found(session, query, Scope(frozenset({mine.merchant.id}))) == [
        mine.mandate.public_id], query


@pytest.mark.parametrize("kind", ["invitation", "verification", "payment request", "payment",
                                  "debit", "invoice", "customer", "mandate"])
def test_each_public_id_finds_its_mandate_only(session: Session, shops: tuple[Shop, Shop],
                                               kind: str) -> None:
    mine, theirs = shops
    assert _found(session, mine.ids[kind]) == [mine.mandate.public_id]
    assert _found(session, theirs.ids[kind]) == [theirs.mandate.public_id]


def test_staff_of_one_merchant_never_see_another(session: Session,
                                                 shops: tuple[Shop, Shop]) -> None:
    mine, theirs = shops
    scope = Scope(frozenset({mine.merchant.id}))
    for query in (IBAN, "4300", "CRM-00042", "jose", "vries", *theirs.ids.values(),
                  theirs.mandate.reference):
        assert theirs.mandate.public_id not in _found(session, query, scope), query
    # Both merchants' customers share the IBAN and the CRM number: the platform sees both.
    assert sorted(_found(session, IBAN)) == sorted([mine.mandate.public_id,
                                                    theirs.mandate.public_id])
    # A merchant filter outside the scope finds nothing, as an unknown merchant would.
    assert _found(session, "", scope, merchant=theirs.merchant.public_id) == []
    assert _found(session, "jose", scope, merchant=mine.merchant.public_id) == [
        mine.mandate.public_id]
    assert _found(session, "", EVERYONE, merchant=theirs.merchant.public_id) == [
        theirs.mandate.public_id]


def test_partial_names_match_word_starts_only(session: Session,
                                              shops: tuple[Shop, Shop]) -> None:
    mine, theirs = shops
    assert sorted(_found(session, "vries")) == sorted([mine.mandate.public_id,
                                                       theirs.mandate.public_id])
    assert _found(session, "vriesem") == [theirs.mandate.public_id]
    assert _found(session, "odegard") == [mine.mandate.public_id]
    assert _found(session, "ries") == []  # inside a word: not a start
    assert _found(session, "jose vriesema") == [theirs.mandate.public_id]


def test_filters_narrow_and_dates_are_whole_days(session: Session) -> None:
    merchant = make_merchant(session)
    day = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    core = _mandate(session, merchant, name="Anna Core", email=None, created=day)
    b2b = _mandate(session, merchant, name="Anna Btob", email=None, scheme=Scheme.B2B,
                   created=day + timedelta(hours=1))  # 00:30 the next day
    core.status = MandateStatus.ACTIVE
    session.commit()
    assert _found(session, "anna") == [b2b.public_id, core.public_id]  # newest first
    assert _found(session, "anna", scheme=Scheme.B2B) == [b2b.public_id]
    assert _found(session, "anna", status=MandateStatus.ACTIVE) == [core.public_id]
    assert _found(session, "", status=MandateStatus.INVITED) == [b2b.public_id]
    assert _found(session, "anna", created_from=date(2026, 3, 10),
                  created_to=date(2026, 3, 10)) == [core.public_id]
    assert _found(session, "anna", created_from=date(2026, 3, 11)) == [b2b.public_id]
    assert _found(session, "anna", created_to=date(2026, 3, 9)) == []


def test_pages_of_results_newest_first(session: Session) -> None:
    merchant = make_merchant(session)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [_mandate(session, merchant, name=f"Pagina Klant{n}", email=None,
                     created=start + timedelta(minutes=n)).public_id
            for n in range(PAGE_SIZE + 3)]
    session.commit()
    first = search_mandates(session, SearchRequest(query="pagina"), EVERYONE)
    second = search_mandates(session, SearchRequest(query="pagina", page=2), EVERYONE)
    assert [m.public_id for m in first.mandates] == made[::-1][:PAGE_SIZE]
    assert first.has_next and not second.has_next
    assert [m.public_id for m in second.mandates] == made[::-1][PAGE_SIZE:]


def test_search_keys_follow_changes(session: Session) -> None:
    merchant = make_merchant(session)
    mandate = _mandate(session, merchant, name="Old Name", email="old@example.org")
    session.commit()
    assert _found(session, "old") == [mandate.public_id]
    mandate.customer.name = "Nieuwe Naam"
    mandate.customer.email = None
    set_debtor_account(session, mandate, OTHER_IBAN, None)
    session.commit()
    assert _found(session, "old") == []
    assert _found(session, "nieuwe naam") == [mandate.public_id]
    assert _found(session, "3000") == [mandate.public_id]
    assert mandate.iban_last4 == "3000" and mandate.reference_key == reference_key(
        mandate.reference)
    kinds = session.scalars(select(CustomerSearchTerm.kind).where(
        CustomerSearchTerm.customer_id == mandate.customer_id)).all()
    assert sorted(kinds) == ["name", "name"]


@pytest.mark.parametrize("query", ["", "   ", "x", "%", "_", "%%", "md_", "md_!!!!!!!!!!!!",
                                   "inv_x", "@", "NL00 0000", "' OR 1=1 --", "\u0000abc",
                                   "NL91ABNA0417164301", "x" * 5000, "•••• ••••",
                                   "a\ud7ff", "a\U0010ffff"])
def test_odd_queries_find_nothing(session: Session, shops: tuple[Shop, Shop],
                                  query: str) -> None:
    assert _found(session, parse_search({"q": query}).query) == []


@pytest.mark.parametrize(("args", "field"), [
    ({"status": "awaiting"}, "status"), ({"scheme": "core"}, "scheme"),
    ({"from": "2026-13-01"}, "from"), ({"from": "2026-02-02", "to": "2026-02-01"}, "to"),
    ({"merchant": "' OR 1=1"}, "merchant"), ({"page": "0"}, "page"), ({"page": "x"}, "page"),
])
def test_unreadable_filters_are_refused_by_name(args: dict, field: str) -> None:
    with pytest.raises(SearchInputError) as refused:
        parse_search(args)
    assert list(refused.value.errors) == [field]
