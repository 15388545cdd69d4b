"""Console search on 100,000 mandates: median and p95 per kind of key, SQLite and PostgreSQL.

Seeds ``--count`` mandates (their customers, invitations, and a share of verification payments,
debits and invoices) across ten merchants by bulk insert (COPY on PostgreSQL, executemany on
SQLite: not through the ORM one by one), with the search keys the listeners would have written,
then runs ``--queries`` searches per kind through the console's own service
(``portal.console.search.search_mandates``) as a platform admin (every merchant in scope: the
largest search), each checked to find the mandate it was taken from. The baseline, measured in
the same run on the same session, is fetching a mandate by its ``md_`` id: the floor of any
lookup. Target: p95 < 50 ms for each kind.

The seeded database is kept in ``bench/.cache/`` (``bench/databases.py``: keyed on the
migrations, this seeding code and its parameters), so a later run copies it in seconds instead
of seeding for minutes; the queries are drawn from what the database holds either way.

Usage: .venv/bin/python bench/search.py [--count 100000] [--queries 40] [--backend both]
       [--fresh]
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # bench/http.py would shadow the standard library's http

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from bench.databases import cache_key, is_cached, seeded_database
from bench.report import figure
from portal import create_app
from portal.collections.models import Debit
from portal.console.roles import Scope
from portal.console.search import SearchRequest, search_mandates
from portal.db import Base, cipher_of, state
from portal.invoices.models import Invoice
from portal.mandates.models import Customer, Invitation, Mandate
from portal.mandates.search_keys import customer_term_rows, mandate_keys
from portal.sepa import MANDATE_REFERENCE_ALPHABET, generate_mandate_reference, mask_iban
from portal.verification.models import VerificationPayment
from tests.factories import make_merchant
from tests.pgcluster import find_pg_bin

MERCHANTS = 10
ID_ALPHABET = string.digits + string.ascii_letters
TARGET_MS = 50.0
#: As the console asks: with the time, so abandoned attempts are named in the results.
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SETTINGS = {"SECRET_KEY": "bench-secret-key-" * 2, "DATA_KEY": "bench-data-key-" * 2,
            "AUDIT_KEY": "bench-audit-key-" * 2, "JOBS_IN_PROCESS": False,
            "LOG_LEVEL": "WARNING"}
FIRST = ("Sam", "Anna", "Jan", "Lotte", "Pieter", "Sanne", "Daan", "Emma", "Luuk", "Julia",
         "José", "Zoë", "Chloé", "Renée", "Björn", "Søren", "Łukasz", "Ines", "Noah", "Mila",
         "Bram", "Fleur", "Thijs", "Isa", "Ruben", "Noor", "Milan", "Eva", "Lars", "Femke")
LAST_PARTS = ("Jans", "Bakk", "Vis", "Smi", "Meij", "Mul", "Dekk", "Brou", "Hend", "Vos",
              "Peet", "Dijk", "Bos", "Berg", "Kuip", "Wou", "Müll", "Schä", "Gar", "Lefè",
              "Ødeg", "Ström", "Kowal", "Rous", "Dub", "Mart", "Bern", "Fisch", "Wag", "Beck")
LAST_ENDS = ("en", "er", "ser", "tsma", "ink", "hof", "stra", "man", "ers", "ijk", "ard",
             "ski", "eau", "ois", "ault", "ing", "el", "s", "ter", "horst")
DOMAINS = ("example.org", "mail.example", "post.example.nl", "web.example.de", "shop.example")
PREFIXES = ("", "de ", "van ", "van der ", "ten ")


@dataclass
class Seeded:
    """What the queries are drawn from: one sample of each kind of key, with its mandate."""

    mandates: list[dict[str, Any]]
    customers: dict[int, dict[str, Any]]
    ibans: dict[int, str]
    invitations: dict[int, str]
    payments: dict[int, str]
    debits: dict[int, str]
    invoices: dict[int, str]


def _iban(number: int) -> str:
    """A valid Dutch IBAN: 'NL' check digits, a bank code, ten digits."""
    bban = f"ABNA{number:010d}"
    digits = "".join(str(int(c, 36)) for c in bban + "NL00")
    check = 98 - int(digits) % 97
    return f"NL{check:02d}{bban}"


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):
        return value.isoformat()
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _bulk(connection: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        # COPY's text format written here in one go: psycopg adapting every value of a million
        # rows one by one costs more than the server's whole load.
        columns = list(rows[0])
        text_rows = "".join("\t".join(_copy_text(row[c]) for c in columns) + "\n"
                            for row in rows)
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(text_rows.encode())
        return
    # SQLite: the driver's executemany with each column's own bind processing, done once per
    # value here rather than through a compiled statement per batch.
    columns = list(rows[0])
    sql_table = Base.metadata.tables[table]
    processors = [sql_table.c[c].type.bind_processor(connection.dialect) for c in columns]
    placeholders = ", ".join("?" for _ in columns)
    values = [tuple(p(row[c]) if p else row[c] for c, p in zip(columns, processors, strict=True))
              for row in rows]
    connection.connection.driver_connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values)


#: The rows made for the first database, loaded again into the second (same keys, same ids).
_MADE: dict[tuple[int, tuple[int, ...]], tuple[Any, Seeded]] = {}


def seed(app: Any, count: int, rng: random.Random) -> Seeded:
    """``count`` mandates over ten merchants, newest last, with every row the search reads."""
    factory = state(app).factory
    with factory() as session:
        merchants = [make_merchant(session, legal_name=f"Bench merchant {n} B.V.")
                     for n in range(MERCHANTS)]
        session.commit()
        merchant_ids = [m.id for m in merchants]
        cipher = cipher_of(session)
    key = (count, tuple(merchant_ids))
    if key not in _MADE:
        _MADE[key] = _rows(count, rng, cipher, merchant_ids)
    loads, seeded = _MADE[key]
    _load(state(app).engine, loads)
    return seeded


def _rows(count: int, rng: random.Random, cipher: Any, merchant_ids: list[int]
          ) -> tuple[Any, Seeded]:
    def new_public_id(prefix: str) -> str:  # the portal's shape, from a seeded fast generator
        return f"{prefix}_" + "".join(rng.choices(ID_ALPHABET, k=22))

    start = datetime(2024, 1, 1, tzinfo=UTC)
    customers, mandates, invitations, terms = [], [], [], []
    payments, debits, invoices = [], [], []
    seeded = Seeded([], {}, {}, {}, {}, {}, {})
    for n in range(1, count + 1):
        merchant_id = merchant_ids[n % MERCHANTS]
        created = start + timedelta(seconds=n * 600)
        first = rng.choice(FIRST)
        last = rng.choice(PREFIXES) + rng.choice(LAST_PARTS) + rng.choice(LAST_ENDS)
        name = f"{first} {last}"
        email = (f"{first.lower()}.{last.replace(' ', '').lower()}{n}@{rng.choice(DOMAINS)}"
                 if n % 10 else None)
        external = f"CRM-{n:07d}" if n % 3 == 0 else None
        customer = {"id": n, "public_id": new_public_id("cus"), "merchant_id": merchant_id,
                    "name": name, "email": email, "external_reference": external,
                    "locale": "nl", "created_at": created}
        customers.append(customer)
        terms += customer_term_rows(n, merchant_id, name, email, external)
        iban = _iban(n * 7919 % 10_000_000_000)
        reference = generate_mandate_reference(
            random=lambda k: "".join(rng.choices(MANDATE_REFERENCE_ALPHABET, k=k)))
        masked = mask_iban(iban)
        status = rng.choices(("active", "invited", "awaiting_verification", "revoked",
                              "expired"), (60, 15, 10, 10, 5))[0]
        mandate = {"id": n, "public_id": new_public_id("md"), "merchant_id": merchant_id,
                   "customer_id": n, "reference": reference,
                   "scheme": "B2B" if n % 8 == 0 else "CORE", "sequence_type": "recurrent",
                   "status": status, "iban_ciphertext": cipher.encrypt(iban, "mandate.iban"),
                   "iban_hash": cipher.lookup_hash(iban), "iban_masked": masked,
                   "locale": "nl", "created_at": created, "updated_at": created, "version": 1,
                   **mandate_keys(reference, masked)}
        mandates.append(mandate)
        seeded.ibans[n] = iban
        invitation = new_public_id("inv")
        seeded.invitations[n] = invitation
        invitations.append({"public_id": invitation, "merchant_id": merchant_id,
                            "mandate_id": n, "channel": "email",
                            "expires_at": created + timedelta(days=14), "created_at": created,
                            "signing_methods": ["payment_verification"], "purpose": "sign"})
        if n % 5 == 0:
            payment = new_public_id("pay")
            seeded.payments[n] = payment
            payments.append({"public_id": payment, "merchant_id": merchant_id, "mandate_id": n,
                             "provider": "sandbox", "amount_cents": 1, "currency": "EUR",
                             "status": "paid", "status_history": [], "created_at": created,
                             "updated_at": created})
        if n % 5 == 1:
            debit = new_public_id("dbt")
            seeded.debits[n] = debit
            debits.append({"public_id": debit, "merchant_id": merchant_id, "mandate_id": n,
                           "customer_id": n, "route": "bank", "scheme": "CORE",
                           "status": "collected", "amount_cents": 1250,
                           "original_amount_cents": 1250, "description": "Bench",
                           "final": False, "collection_date": created.date(),
                           "sequence_type": "RCUR", "attempt": 1, "will_retry": False,
                           "created_at": created, "updated_at": created, "version": 1})
        if n % 5 == 2:
            invoice = new_public_id("in")
            seeded.invoices[n] = invoice
            invoices.append({"public_id": invoice, "merchant_id": merchant_id,
                             "customer_id": n, "mandate_id": n, "number": f"INV-{n:07d}",
                             "description": "Bench", "currency": "EUR", "net_cents": 1000,
                             "vat_cents": 210, "amount_cents": 1210, "paid_cents": 0,
                             "issue_date": created.date(), "due_date": created.date(),
                             "status": "open", "collection": "debit", "created_at": created,
                             "updated_at": created, "version": 1})
    loads = (("customer", customers), ("mandate", mandates), ("invitation", invitations),
             ("customer_search_term", terms), ("verification_payment", payments),
             ("debit", debits), ("invoice", invoices))
    seeded.mandates = mandates
    seeded.customers = {c["id"]: c for c in customers}
    return loads, seeded


def _load(engine: Any, loads: Any) -> None:
    # The plain indexes are built once after the load (sorting beats 100,000 random inserts);
    # the unique ones stay, so the load is checked as the portal's writes would be.
    indexes = [index for table, _ in loads for index in Base.metadata.tables[table].indexes
               if not index.unique]
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":  # the random-keyed indexes fit in memory
            connection.exec_driver_sql("PRAGMA cache_size = -262144")
        for index in indexes:
            index.drop(connection)
        for table, rows in loads:
            _bulk(connection, table, rows)
        for index in indexes:
            index.create(connection)
        if connection.dialect.name == "postgresql":
            for table in ("customer", "mandate"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                        f" (SELECT max(id) FROM {table}))"))
    with engine.connect() as connection:  # as autovacuum would have, for index-only scans
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"))


def _queries(seeded: Seeded, rng: random.Random, n: int) -> dict[str, list[tuple[str, int]]]:
    """(query, the mandate it must find) per kind of key."""
    def pick(pool: list[int] | dict[int, Any]) -> list[int]:
        keys = list(pool)
        return [rng.choice(keys) for _ in range(n)]

    everyone = list(range(1, len(seeded.mandates) + 1))
    with_email = [i for i in everyone if seeded.customers[i]["email"]]
    with_external = [i for i in everyone if seeded.customers[i]["external_reference"]]
    accented = [i for i in everyone if any(c in seeded.customers[i]["name"] for c in "éëöøüäłè")]

    def mandate(i: int) -> dict[str, Any]:
        return seeded.mandates[i - 1]

    def unaccented(name: str) -> str:
        from portal.mandates.search_keys import fold
        return fold(name).upper()

    def last_word(i: int) -> str:
        return seeded.customers[i]["name"].split()[-1]

    return {
        "reference": [(mandate(i)["reference"], i) for i in pick(everyone)],
        "reference without separators": [(mandate(i)["reference"].replace("-", "").lower(), i)
                                         for i in pick(everyone)],
        "customer name": [(seeded.customers[i]["name"], i) for i in pick(everyone)],
        "name, partial and unaccented": [
            (f"{unaccented(seeded.customers[i]['name'].split()[0])[:3]} "
             + unaccented(last_word(i))[:4], i) for i in pick(accented)],
        "email, partial": [(seeded.customers[i]["email"].split(".", 1)[1].split("@")[0] + "@",
                            i) for i in pick(with_email)],
        "customer reference": [(seeded.customers[i]["external_reference"].replace("-", " "), i)
                               for i in pick(with_external)],
        "IBAN": [(seeded.ibans[i], i) for i in pick(everyone)],
        "IBAN last 4": [(seeded.ibans[i][-4:], i) for i in pick(everyone)],
        "invitation id": [(seeded.invitations[i], i) for i in pick(seeded.invitations)],
        "payment id": [(seeded.payments[i], i) for i in pick(seeded.payments)],
        "debit id": [(seeded.debits[i], i) for i in pick(seeded.debits)],
        "invoice id": [(seeded.invoices[i], i) for i in pick(seeded.invoices)],
    }


def _timed(run: Callable[[], Any], times: list[float]) -> Any:
    started = time.perf_counter()
    result = run()
    times.append((time.perf_counter() - started) * 1000)
    return result


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def make_rows_once(count: int, scratch: Path) -> None:
    """The rows :func:`seed` makes for a fresh database (its merchants numbered 1 to 10), made
    before the databases are seeded side by side, so that both load them instead of each
    making them (``seed`` still makes its own if its merchants are numbered otherwise)."""
    app = create_app({**SETTINGS, "DATABASE_URL": "sqlite://", "INSTANCE_PATH": str(scratch)})
    merchant_ids = list(range(1, MERCHANTS + 1))
    _MADE[(count, tuple(merchant_ids))] = _rows(count, random.Random(16), state(app).cipher,
                                                merchant_ids)


def seed_database(url: str, count: int, scratch: Path) -> None:
    """Fill the migrated database at ``url`` with ``count`` mandates (what the cache keeps)."""
    app = create_app({**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(scratch / "seed")})
    seed(app, count, random.Random(16))
    state(app).dispose()


def read_seeded(session: Any, count: int) -> Seeded:
    """What the queries are drawn from, read back from a seeded database (fresh or cached)."""
    def by_mandate(model: Any) -> dict[int, str]:
        return {mandate_id: public_id for mandate_id, public_id in session.execute(
            select(model.mandate_id, model.public_id).where(model.mandate_id.is_not(None)))}

    mandates = [dict(row) for row in session.execute(
        select(Mandate.id, Mandate.public_id, Mandate.reference).order_by(Mandate.id)).mappings()]
    customers = {row["id"]: dict(row) for row in session.execute(
        select(Customer.id, Customer.name, Customer.email, Customer.external_reference)
        .where(Customer.id <= count)).mappings()}
    return Seeded(mandates, customers, {n: _iban(n * 7919 % 10_000_000_000)
                                        for n in range(1, count + 1)},
                  by_mandate(Invitation), by_mandate(VerificationPayment), by_mandate(Debit),
                  by_mandate(Invoice))


def run_backend(backend: str, url: str, scratch: Path, args: argparse.Namespace) -> None:
    app = create_app({**SETTINGS, "DATABASE_URL": url, "INSTANCE_PATH": str(scratch / backend)})
    with state(app).factory() as session:
        seeded = read_seeded(session, args.count)
    assert len(seeded.mandates) == args.count, "the seeded database holds another count"
    rng = random.Random(17)  # the same queries on each database
    scope = Scope(None)
    queries = _queries(seeded, rng, args.queries)
    with app.app_context(), state(app).factory() as session:
        # Untimed, as a portal that has served searches would be: one query of each kind and
        # a few lookups (the database's caches, SQLAlchemy's compiled statements).
        for pairs in queries.values():
            search_mandates(session, SearchRequest(query=pairs[0][0]), scope, now=NOW)
            session.rollback()
        for mandate in seeded.mandates[:3]:
            session.scalars(select(Mandate).where(Mandate.public_id == mandate["public_id"]))
            session.rollback()
        floor: list[float] = []
        for i in rng.sample(range(1, args.count + 1), args.queries):
            public_id = seeded.mandates[i - 1]["public_id"]
            _timed(lambda p=public_id: session.scalars(  # type: ignore[misc]
                select(Mandate).where(Mandate.public_id == p)).one(), floor)
            session.rollback()
        floor_p95 = _p95(floor)
        browse: list[float] = []
        asked = SearchRequest(status=None, scheme=None, created_from=date(2025, 1, 1),
                              created_to=date(2025, 3, 31))
        for _ in range(args.queries):
            _timed(lambda: search_mandates(session, asked, scope, now=NOW), browse)
            session.rollback()
        kinds: dict[str, list[float]] = {}
        for kind, pairs in queries.items():
            times: list[float] = []
            missed = 0
            for query, index in pairs:
                result = _timed(lambda q=query: search_mandates(  # type: ignore[misc]
                    session, SearchRequest(query=q), scope, now=NOW), times)
                wanted = seeded.mandates[index - 1]["public_id"]
                found = {m.public_id for m in result.mandates}
                if wanted not in found and not result.has_next:
                    missed += 1
                session.rollback()
            if missed:
                print(f"  {kind}: {missed} of {len(pairs)} queries missed their mandate")
            kinds[kind] = times
        kinds["filters only"] = browse
        for kind, times in kinds.items():
            figure(f"search {backend} {kind} median", statistics.median(times), "ms")
            figure(f"search {backend} {kind} p95", _p95(times), "ms",
                   baseline="md_ id lookup p95", baseline_value=floor_p95, below=TARGET_MS)
    state(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40, help="searches per kind of key")
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--fresh", action="store_true",
                        help="seed anew instead of copying the database kept in bench/.cache")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and find_pg_bin() is None:
        print("PostgreSQL is not installed: SQLite only")
        backends.remove("postgresql")
    # The cache key: the schema (in cache_key), this seeding code and its parameters.
    seeding = "".join(inspect.getsource(f) for f in (seed, _rows, _load, _bulk, _copy_text, _iban))
    seeding += repr((args.count, MERCHANTS, SETTINGS, FIRST, LAST_PARTS, LAST_ENDS, DOMAINS,
                     PREFIXES)) + (ROOT / "portal" / "mandates" / "search_keys.py").read_text()
    keys = {backend: cache_key(backend, seeding) for backend in backends}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp, ExitStack() as opened:
        if len(backends) > 1 and (args.fresh or not any(
                is_cached("search", backend, key) for backend, key in keys.items())):
            make_rows_once(args.count, Path(tmp) / "rows")
        # Every database is made ready before any is measured, side by side: copied from
        # bench/.cache, or seeded (the rows made once, then loaded into each; SQLite's
        # inserts and both databases' index builds run outside Python's lock). Nothing is
        # measured meanwhile, and a cluster waits idle while the other database is measured.
        def ready(backend: str) -> tuple[str, bool, float]:
            started = time.monotonic()
            url, cached = opened.enter_context(seeded_database(
                backend, Path(tmp), "search", keys[backend],
                lambda url: seed_database(url, args.count, Path(tmp) / backend),
                fresh=args.fresh))
            return url, cached, time.monotonic() - started

        with ThreadPoolExecutor(len(backends)) as pool:
            databases = dict(zip(backends, pool.map(ready, backends), strict=True))
        for backend, (url, cached, seconds) in databases.items():
            print(f"{backend}: {args.count} mandates "
                  f"{'copied from bench/.cache' if cached else 'seeded'} in {seconds:.1f} s",
                  flush=True)
        for backend, (url, _cached, _seconds) in databases.items():
            started = time.monotonic()
            run_backend(backend, url, Path(tmp), args)
            print(f"{backend}: {time.monotonic() - started:.1f} s measuring", flush=True)


if __name__ == "__main__":
    main()
