"""delivery: short links, invitation delivery state and unsubscribe, merchant reply-to and
reminder schedule; short links and expiry jobs for invitations that are still open

Revision ID: a6d0d0000006
Revises: a5b0b0000005
"""
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "a6d0d0000006"
down_revision = "a5b0b0000005"
branch_labels = None
depends_on = None

DELIVERY_STATE = sa.Enum("queued", "sent", "failed", name="deliverystate", native_enum=False,
                         length=32)
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def upgrade() -> None:
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("reminder_days", sa.JSON(), nullable=True))

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", DELIVERY_STATE, nullable=True))
        batch_op.add_column(sa.Column("delivery_error", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("sent_at", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("unsubscribed_at", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))

    op.create_table(
        "short_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("last_opened_at", portal.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation.id"],
                                name=op.f("fk_short_link_invitation_id_invitation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_link")),
        sa.UniqueConstraint("code", name=op.f("uq_short_link_code")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_short_link_invitation_id")),
    )
    _backfill(op.get_bind())


def _backfill(connection: sa.Connection) -> None:
    """Invitations made before this revision get a short link; those still open get the job
    that expires them (new ones get both when they are created)."""
    now = datetime.now(UTC)
    stored_now = now.replace(tzinfo=None) if connection.dialect.name == "sqlite" else now
    invitation = sa.table("invitation", sa.column("id"), sa.column("public_id"),
                          sa.column("mandate_id"), sa.column("expires_at"),
                          sa.column("withdrawn_at"), sa.column("used_at"))
    mandate = sa.table("mandate", sa.column("id"), sa.column("status"))
    short_link = sa.table("short_link", sa.column("code"), sa.column("invitation_id"),
                          sa.column("created_at"), sa.column("open_count"))
    job = sa.table("job", sa.column("kind"), sa.column("payload", sa.JSON()),
                   sa.column("dedupe_key"), sa.column("status"), sa.column("run_at"),
                   sa.column("attempts"), sa.column("max_attempts"), sa.column("created_at"))
    rows = connection.execute(
        sa.select(invitation.c.id, invitation.c.public_id, invitation.c.expires_at,
                  invitation.c.withdrawn_at, invitation.c.used_at, mandate.c.status)
        .join(mandate, mandate.c.id == invitation.c.mandate_id)).all()
    for row in rows:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        connection.execute(sa.insert(short_link).values(
            code=code, invitation_id=row.id, created_at=stored_now, open_count=0))
        if row.status == "invited" and row.withdrawn_at is None and row.used_at is None:
            connection.execute(sa.insert(job).values(
                kind="invitation.expire", payload={"invitation": row.public_id},
                dedupe_key=f"invitation.expire:{row.public_id}", status="pending",
                run_at=row.expires_at, attempts=0, max_attempts=8, created_at=stored_now))


def downgrade() -> None:
    op.drop_table("short_link")
    op.execute(sa.text("DELETE FROM job WHERE kind = 'invitation.expire'"))
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("unsubscribed_at")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("delivery_error")
        batch_op.drop_column("delivery_status")
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.drop_column("reminder_days")
        batch_op.drop_column("reply_to_email")
