"""feed order after commit (event.txid); webhook deliveries leased by their own batch claims

Revision ID: 07ed11132e39
Revises: c14d0b7e5a31
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "07ed11132e39"
down_revision = "c14d0b7e5a31"
branch_labels = None
depends_on = None

#: The top-level transaction's id: the feed shows a row only once every transaction with a
#: smaller id has ended (``pg_snapshot_xmin``), so a slow transaction is never skipped.
PG_TXID = "pg_current_xact_id()::text::bigint"


def upgrade() -> None:
    # Rows written before keep 0: they sort first, by id, as they always did.
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=False,
                                      server_default="0"))
        batch_op.create_index("ix_event_feed", ["merchant_id", "txid", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE event ALTER COLUMN txid SET DEFAULT ({PG_TXID})")

    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("locked_at", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("locked_until", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_by", sa.String(length=80), nullable=True))
    # Deliveries are claimed from their own table now: their old jobs have nothing left to do
    # (the pending deliveries keep their next_attempt_at and are picked up from there).
    op.execute("UPDATE job SET status = 'done' WHERE kind = 'webhook.deliver' "
               "AND status = 'pending'")


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_column("sent_by")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("locked_at")
        batch_op.drop_column("locked_by")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_feed")
        batch_op.drop_column("txid")
