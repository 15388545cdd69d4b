"""console sessions kept on the server, and per-account login throttles

Revision ID: e9a40dc3f6ce
Revises: b8a6ca337c34
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "e9a40dc3f6ce"
down_revision = "b8a6ca337c34"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("ended_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"],
                                name=op.f("fk_console_session_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
        sa.UniqueConstraint("public_id", name=op.f("uq_console_session_public_id")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_console_session_token_sha256")),
    )
    op.create_index(op.f("ix_console_session_staff_user_id"), "console_session",
                    ["staff_user_id"], unique=False)
    op.create_table(
        "console_login_throttle",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_console_login_throttle")),
    )
    op.create_index(op.f("ix_console_login_throttle_last_attempt_at"), "console_login_throttle",
                    ["last_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_console_login_throttle_last_attempt_at"),
                  table_name="console_login_throttle")
    op.drop_table("console_login_throttle")
    op.drop_index(op.f("ix_console_session_staff_user_id"), table_name="console_session")
    op.drop_table("console_session")
