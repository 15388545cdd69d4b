"""provider route follow-ups: payment reminders can be unsubscribed from
(payment_request.reminders_unsubscribed_at)

(The sandbox mandate's account, encrypted on this branch first, is encrypted by
0016_accounts_encrypted on main.)

Revision ID: e75ebee83ba0
Revises: 9906018b2a3e
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "e75ebee83ba0"
down_revision = "9906018b2a3e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payment_request", sa.Column(
        "reminders_unsubscribed_at", portal.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_request", schema=None) as batch_op:
        batch_op.drop_column("reminders_unsubscribed_at")
