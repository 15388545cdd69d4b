"""accounts encrypted: sandbox_mandate.consumer_iban (clear) becomes consumer_iban_ciphertext,
and the original IBAN of a collection amendment moves out of debit_attempt.amendment (JSON, in
clear) into debit_attempt.original_iban_ciphertext

Existing values are encrypted with the data key the upgrade is given (``flask --app portal db
upgrade`` passes it); without it, an upgrade that finds such values refuses before any change.

Revision ID: 9906018b2a3e
Revises: 4096521b490d
"""
import sqlalchemy as sa
from alembic import op

from portal.migrate import migration_key

revision = "9906018b2a3e"
down_revision = "4096521b490d"
branch_labels = None
depends_on = None

CONSUMER = "sandbox_mandate.consumer_iban"  # portal.sandbox.provider.CONSUMER_IBAN_CONTEXT
ORIGINAL = "debit_attempt.original_iban"  # portal.collections.models.ORIGINAL_IBAN_CONTEXT


def _mandates(column: str) -> sa.TableClause:
    return sa.table("sandbox_mandate", sa.column("id", sa.Integer), sa.column(column, sa.Text))


def _attempts() -> sa.TableClause:
    return sa.table("debit_attempt", sa.column("id", sa.Integer),
                    sa.column("amendment", sa.JSON),
                    sa.column("original_iban_ciphertext", sa.Text))


def _mandate_rows(column: str) -> list:
    table = _mandates(column)
    return op.get_bind().execute(sa.select(table.c.id, table.c[column])
                                 .where(table.c[column].is_not(None))).all()


def _amended_rows() -> list:
    """Attempts whose amendment names an original IBAN (few: amendments are rare)."""
    table = _attempts()
    rows = op.get_bind().execute(sa.select(table.c.id, table.c.amendment)
                                 .where(table.c.amendment.is_not(None))).all()
    return [(row_id, data) for row_id, data in rows
            if isinstance(data, dict) and data.get("original_iban")]


def upgrade() -> None:
    consumers, amended = _mandate_rows("consumer_iban"), _amended_rows()
    cipher = migration_key("cipher") if consumers or amended else None
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consumer_iban_ciphertext", sa.Text(), nullable=True))
    with op.batch_alter_table("debit_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_iban_ciphertext", sa.Text(), nullable=True))
    connection = op.get_bind()
    written = _mandates("consumer_iban_ciphertext")
    for row_id, iban in consumers:
        connection.execute(sa.update(written).where(written.c.id == row_id).values(
            consumer_iban_ciphertext=cipher.encrypt(iban, CONSUMER)))
    attempts = _attempts()
    for row_id, data in amended:
        rest = {key: value for key, value in data.items() if key != "original_iban"}
        connection.execute(sa.update(attempts).where(attempts.c.id == row_id).values(
            amendment=rest,
            original_iban_ciphertext=cipher.encrypt(data["original_iban"], ORIGINAL)))
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.drop_column("consumer_iban")


def downgrade() -> None:
    consumers = _mandate_rows("consumer_iban_ciphertext")
    table = _attempts()
    originals = op.get_bind().execute(
        sa.select(table.c.id, table.c.amendment, table.c.original_iban_ciphertext)
        .where(table.c.original_iban_ciphertext.is_not(None))).all()
    cipher = migration_key("cipher") if consumers or originals else None
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consumer_iban", sa.String(length=34), nullable=True))
    connection = op.get_bind()
    written = _mandates("consumer_iban")
    for row_id, token in consumers:
        connection.execute(sa.update(written).where(written.c.id == row_id).values(
            consumer_iban=cipher.decrypt(token, CONSUMER)))
    for row_id, data, token in originals:
        connection.execute(sa.update(table).where(table.c.id == row_id).values(
            amendment={**(data or {}), "original_iban": cipher.decrypt(token, ORIGINAL)}))
    with op.batch_alter_table("debit_attempt", schema=None) as batch_op:
        batch_op.drop_column("original_iban_ciphertext")
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.drop_column("consumer_iban_ciphertext")
