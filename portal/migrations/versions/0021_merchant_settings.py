"""merchant settings from the console: the sender name of customer mail and the SMS sender id

Both are optional; without them mail goes out under the merchant's display name and texts under
the portal's ``SMS_ORIGINATOR``, as before.

Revision ID: e970cb9a3c5f
Revises: a69d8bef3413
"""
import sqlalchemy as sa
from alembic import op

revision = "e970cb9a3c5f"
down_revision = "a69d8bef3413"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_from_name", sa.String(length=70), nullable=True))
        batch_op.add_column(sa.Column("sms_sender_id", sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.drop_column("sms_sender_id")
        batch_op.drop_column("mail_from_name")
