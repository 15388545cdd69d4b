"""Revision cc2db9253057 (0022_search) gives mandates and customers made before it their search
keys, from what is stored (no IBAN decrypted), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, insert, select

from portal import migrate
from portal.db import make_engine
from tests.migration_rows import merchant_row


def test_upgrade_backfills_the_search_keys(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine, "e970cb9a3c5f")  # the revision before 0022_search
        tables = MetaData()
        tables.reflect(engine, only=["merchant", "customer", "mandate"])
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with engine.begin() as connection:
            connection.execute(insert(tables.tables["merchant"]).values(
                merchant_row(now)))
            connection.execute(insert(tables.tables["customer"]), [
                {"id": 1, "public_id": "cus_aaaaaaaaaaaa", "merchant_id": 1,
                 "name": "Zoë Ødegård", "email": "zoe@shop.example",
                 "external_reference": "ERP-7", "locale": "nl", "created_at": now},
                {"id": 2, "public_id": "cus_bbbbbbbbbbbb", "merchant_id": 1, "name": "Sam",
                 "email": None, "external_reference": None, "locale": "nl", "created_at": now}])
            connection.execute(insert(tables.tables["mandate"]), [
                {"id": n, "public_id": f"md_{n:012d}", "merchant_id": 1, "customer_id": n,
                 "reference": f"MD-AAAA-BBBB-000{n}", "scheme": "CORE",
                 "sequence_type": "recurrent", "status": "active", "locale": "nl",
                 "iban_masked": masked, "created_at": now, "updated_at": now, "version": 1}
                for n, masked in ((1, "NL91 •••• •••• ••43 00"), (2, None))])

        migrate.upgrade(engine)
        migrate.check(engine)
        tables = MetaData()
        tables.reflect(engine, only=["mandate", "customer_search_term"])
        with engine.connect() as connection:
            mandates = connection.execute(select(tables.tables["mandate"])
                                          .order_by(tables.tables["mandate"].c.id)).all()
            terms = connection.execute(select(tables.tables["customer_search_term"])).all()
        assert [(m.reference_key, m.iban_last4) for m in mandates] == [
            ("MDAAAABBBB0001", "4300"), ("MDAAAABBBB0002", None)]
        assert sorted((t.customer_id, t.kind, t.term) for t in terms) == [
            (1, "email", "example"), (1, "email", "shop.example"),
            (1, "email", "zoe@shop.example"), (1, "ext", "ERP7"), (1, "name", "odegard"),
            (1, "name", "zoe"), (2, "name", "sam")]
        assert {t.merchant_id for t in terms} == {1}
    finally:
        engine.dispose()
