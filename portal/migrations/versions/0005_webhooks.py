"""webhook deliveries and attempts; merchant endpoint state and contact email

Revision ID: a5b0b0000005
Revises: 60a9ff390fe5
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "a5b0b0000005"
down_revision = "a4a1a0000004"
branch_labels = None
depends_on = None

DELIVERY_STATUS = sa.Enum("pending", "succeeded", "failed", "abandoned", name="deliverystatus",
                          native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_disabled_at", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=254), nullable=True))

    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", DELIVERY_STATUS, nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("retry_step", sa.Integer(), nullable=False),
        sa.Column("queue_round", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"],
                                name=op.f("fk_webhook_delivery_event_id_event")),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchant.id"],
                                name=op.f("fk_webhook_delivery_merchant_id_merchant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("public_id", name=op.f("uq_webhook_delivery_public_id")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_delivery_event_id"), ["event_id"],
                              unique=False)
        batch_op.create_index("ix_webhook_delivery_due", ["status", "next_attempt_at"],
                              unique=False)
        batch_op.create_index("ix_webhook_delivery_merchant_status", ["merchant_id", "status"],
                              unique=False)

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=80), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"],
                                name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempt_delivery_id"), ["delivery_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempt_delivery_id"))
    op.drop_table("webhook_attempt")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_delivery_merchant_status")
        batch_op.drop_index("ix_webhook_delivery_due")
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_event_id"))
    op.drop_table("webhook_delivery")
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.drop_column("contact_email")
        batch_op.drop_column("webhook_disabled_at")
