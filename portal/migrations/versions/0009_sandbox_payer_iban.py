"""sandbox payer IBAN encrypted: sandbox_payment.payer_iban (clear) becomes payer_iban_ciphertext

Existing values are encrypted with the data key the upgrade is given (``portal.migrate.upgrade``'s
``cipher``, which ``flask --app portal db upgrade`` passes), so this runs through that command when
any exist (an upgrade without the key refuses before changing anything).

Revision ID: 7a7666078b0f
Revises: 0951bd3c9288
"""
import sqlalchemy as sa
from alembic import op

from portal.migrate import migration_key

revision = "7a7666078b0f"
down_revision = "0951bd3c9288"
branch_labels = None
depends_on = None

CONTEXT = "sandbox_payment.payer_iban"  # portal.sandbox.provider.PAYER_IBAN_CONTEXT


def _table(column: str) -> sa.TableClause:
    return sa.table("sandbox_payment", sa.column("id", sa.Integer), sa.column(column, sa.Text))


def _convert(source: str, target: str, change) -> None:
    connection = op.get_bind()
    table = _table(source)
    rows = connection.execute(sa.select(table.c.id, table.c[source])
                              .where(table.c[source].is_not(None))).all()
    written = sa.table("sandbox_payment", sa.column("id", sa.Integer), sa.column(target, sa.Text))
    for row_id, value in rows:
        connection.execute(sa.update(written).where(written.c.id == row_id)
                           .values({target: change(value)}))


def _has_values(column: str) -> bool:
    table = _table(column)
    return op.get_bind().execute(sa.select(sa.func.count()).select_from(table)
                                 .where(table.c[column].is_not(None))).scalar() > 0


def upgrade() -> None:
    # Refuse before changing anything (SQLite DDL is not undone) when rows need the key.
    cipher = migration_key("cipher") if _has_values("payer_iban") else None
    with op.batch_alter_table("sandbox_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payer_iban_ciphertext", sa.Text(), nullable=True))
    if cipher is not None:
        _convert("payer_iban", "payer_iban_ciphertext", lambda v: cipher.encrypt(v, CONTEXT))
    with op.batch_alter_table("sandbox_payment", schema=None) as batch_op:
        batch_op.drop_column("payer_iban")


def downgrade() -> None:
    cipher = migration_key("cipher") if _has_values("payer_iban_ciphertext") else None
    with op.batch_alter_table("sandbox_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payer_iban", sa.String(length=34), nullable=True))
    if cipher is not None:
        _convert("payer_iban_ciphertext", "payer_iban", lambda v: cipher.decrypt(v, CONTEXT))
    with op.batch_alter_table("sandbox_payment", schema=None) as batch_op:
        batch_op.drop_column("payer_iban_ciphertext")
