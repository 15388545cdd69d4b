"""provider route and follow-ups: payment reminders can be unsubscribed from

Revision ID: e75ebee83ba0
Revises: c14d0b7e5a31
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "e75ebee83ba0"
down_revision = "c14d0b7e5a31"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payment_request", sa.Column(
        "reminders_unsubscribed_at", portal.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_request", schema=None) as batch_op:
        batch_op.drop_column("reminders_unsubscribed_at")
