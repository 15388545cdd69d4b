"""staff accounts: roles and merchant memberships, TOTP (encrypted secret, last step), recovery
codes, console invitations; console sessions record how they were proven and the second factor

Staff made before roles existed were the operator's own team, who saw every merchant: they
become platform admins (demote them with ``staff role``). Open console sessions had no second
factor: they end here, and everyone signs in again, enrolling TOTP.

Revision ID: a69d8bef3413
Revises: 8c88dae76029
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "a69d8bef3413"
down_revision = "8c88dae76029"
branch_labels = None
depends_on = None

ROLE = sa.Enum("support", "merchant_admin", "platform_admin", name="staffrole",
               native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", ROLE, nullable=False,
                                      server_default="platform_admin"))
        batch_op.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.alter_column("role", server_default=None)
    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("second_factor_at", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
    sessions = sa.table("console_session", sa.column("ended_at", portal.db.UtcDateTime(timezone=True)),
                        sa.column("end_reason", sa.String))
    op.execute(sessions.update().where(sessions.c.ended_at.is_(None))
               .values(ended_at=datetime.now(UTC), end_reason="second_factor_required"))
    op.create_table(
        "staff_membership",
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchant.id"],
                                name=op.f("fk_staff_membership_merchant_id_merchant")),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"],
                                name=op.f("fk_staff_membership_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("staff_user_id", "merchant_id", name=op.f("pk_staff_membership")),
    )
    op.create_index(op.f("ix_staff_membership_merchant_id"), "staff_membership", ["merchant_id"],
                    unique=False)
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"],
                                name=op.f("fk_staff_recovery_code_staff_user_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_code")),
        sa.UniqueConstraint("code_sha256", name=op.f("uq_staff_recovery_code_code_sha256")),
    )
    op.create_index(op.f("ix_staff_recovery_code_staff_user_id"), "staff_recovery_code",
                    ["staff_user_id"], unique=False)
    op.create_table(
        "staff_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", ROLE, nullable=False),
        sa.Column("merchants", sa.JSON(), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["invited_by_id"], ["staff_user.id"],
                                name=op.f("fk_staff_invite_invited_by_id_staff_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invite")),
        sa.UniqueConstraint("public_id", name=op.f("uq_staff_invite_public_id")),
    )
    op.create_index(op.f("ix_staff_invite_email"), "staff_invite", ["email"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_invite_email"), table_name="staff_invite")
    op.drop_table("staff_invite")
    op.drop_index(op.f("ix_staff_recovery_code_staff_user_id"), table_name="staff_recovery_code")
    op.drop_table("staff_recovery_code")
    op.drop_index(op.f("ix_staff_membership_merchant_id"), table_name="staff_membership")
    op.drop_table("staff_membership")
    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.drop_column("second_factor_at")
        batch_op.drop_column("method")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("role")
