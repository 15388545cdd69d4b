"""Revision a6d0d0000006 gives invitations made before it a short link, and open ones their
expiry job, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, insert, select

from portal import migrate
from portal.db import make_engine
from portal.shortlinks.service import CODE
from tests.migration_rows import merchant_row


def test_upgrade_backfills_short_links_and_expiry_jobs(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine, "a5b0b0000005")
        tables = MetaData()
        tables.reflect(engine, only=["merchant", "customer", "mandate", "invitation"])
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with engine.begin() as connection:
            connection.execute(insert(tables.tables["merchant"]).values(
                merchant_row(now)))
            connection.execute(insert(tables.tables["customer"]).values(
                id=1, public_id="cus_aaaaaaaaaaaa", merchant_id=1, name="Sam", locale="nl",
                created_at=now))
            for n, status in ((1, "invited"), (2, "active")):
                connection.execute(insert(tables.tables["mandate"]).values(
                    id=n, public_id=f"md_{n:012d}", merchant_id=1, customer_id=1,
                    reference=f"REF{n}", scheme="CORE", sequence_type="recurrent",
                    status=status, locale="nl", created_at=now, updated_at=now, version=1))
                connection.execute(insert(tables.tables["invitation"]).values(
                    id=n, public_id=f"inv_{n:012d}", merchant_id=1, mandate_id=n,
                    channel="none", expires_at=now + timedelta(days=n), created_at=now))

        migrate.upgrade(engine)
        migrate.check(engine)
        tables = MetaData()
        tables.reflect(engine, only=["short_link", "job"])
        with engine.connect() as connection:
            links = connection.execute(select(tables.tables["short_link"])).all()
            jobs = connection.execute(select(tables.tables["job"])).all()
        assert sorted(link.invitation_id for link in links) == [1, 2]
        assert all(CODE.fullmatch(link.code) for link in links)
        assert len({link.code for link in links}) == 2
        [job] = jobs  # only the invitation still waiting for a signature
        assert job.kind == "invitation.expire" and job.payload == {"invitation": "inv_000000000001"}
        assert job.dedupe_key == "invitation.expire:inv_000000000001"
    finally:
        engine.dispose()
