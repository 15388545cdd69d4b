"""keyed audit chain: every row names the audit key of its HMAC; rows from before keep their
plain SHA-256 (key id "sha256") and are sealed by one keyed audit.chain_keyed row

Revision ID: 4096521b490d
Revises: e9a40dc3f6ce
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import portal.db
from portal.audit.keys import LEGACY_KEY_ID
from portal.audit.service import KEYED_ACTION, row_body, row_hash
from portal.migrate import migration_key

revision = "4096521b490d"
down_revision = "e9a40dc3f6ce"
branch_labels = None
depends_on = None

head = sa.table("audit_chain_head", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger),
                sa.column("hash", sa.String))
event = sa.table(
    "audit_event", sa.column("seq", sa.BigInteger),
    sa.column("occurred_at", portal.db.UtcDateTime(timezone=True)),
    sa.column("merchant_id", sa.Integer), sa.column("subject", sa.String),
    sa.column("action", sa.String), sa.column("actor", sa.String), sa.column("data", sa.JSON),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
    sa.column("key_id", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    seq, prev_hash = connection.execute(sa.select(head.c.seq, head.c.hash)
                                        .where(head.c.id == 1)).one()
    # Existing rows need the key: refuse before changing anything (SQLite DDL is not undone).
    keyring = migration_key("audit_keys") if seq else None
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=False,
                                      server_default=LEGACY_KEY_ID))
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("key_id", existing_type=sa.String(length=16), server_default=None)
    if keyring is None:
        return  # a new trail: keyed from its first row
    # Seal the unkeyed rows: a keyed row chained to their last hash. Rewriting them now would
    # break this row's link, and this row cannot be forged without the audit key.
    values = {"seq": seq + 1, "occurred_at": datetime.now(UTC), "merchant_id": None,
              "subject": "audit", "action": KEYED_ACTION, "actor": "system",
              "data": {"unkeyed_rows": seq, "unkeyed_head": prev_hash},
              "prev_hash": prev_hash, "key_id": keyring.current_key_id}
    values["hash"] = row_hash(row_body(**values), keyring.current_key_id, keyring)
    connection.execute(sa.insert(event).values(values))
    connection.execute(sa.update(head).where(head.c.id == 1)
                       .values(seq=seq + 1, hash=values["hash"]))


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("key_id")
