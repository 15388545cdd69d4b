"""console: support staff users

Revision ID: a7c0c0000007
Revises: a6d0d0000006
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "a7c0c0000007"
down_revision = "a6d0d0000006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_user_email")),
        sa.UniqueConstraint("public_id", name=op.f("uq_staff_user_public_id")),
    )


def downgrade() -> None:
    op.drop_table("staff_user")
