"""encrypted secrets: webhook signing secrets and stored idempotent API answers encrypted with
the data key (the secret columns widened to hold ciphertexts)

Revision ID: b8a6ca337c34
Revises: ad5b8c50e5fa
"""
import sqlalchemy as sa
from alembic import op

from portal.migrate import migration_key

revision = "b8a6ca337c34"
down_revision = "ad5b8c50e5fa"
branch_labels = None
depends_on = None

#: (table, column, associated data), as the models declare them (``portal.crypto.encrypted``).
COLUMNS = (
    ("merchant", "webhook_secret", "merchant.webhook_secret"),
    ("merchant", "webhook_previous_secret", "merchant.webhook_previous_secret"),
    ("api_idempotency_key", "response_body", "api_idempotency_key.response_body"),
)


def _pending(encrypting: bool) -> list[tuple[str, str, str, list[tuple[int, str]]]]:
    """Per column, the rows to convert (plain values to encrypt, or ciphertexts to decrypt)."""
    connection = op.get_bind()
    found = []
    for table_name, column_name, context in COLUMNS:
        table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column_name, sa.Text))
        column = table.c[column_name]
        stored_encrypted = column.startswith("v1.", autoescape=True)
        rows = connection.execute(sa.select(table.c.id, column).where(
            column.is_not(None), stored_encrypted if not encrypting else ~stored_encrypted)).all()
        if rows:
            found.append((table_name, column_name, context, [tuple(row) for row in rows]))
    return found


def _convert(pending: list, encrypting: bool) -> None:
    if not pending:
        return
    cipher = migration_key("cipher")
    connection = op.get_bind()
    for table_name, column_name, context, rows in pending:
        table = sa.table(table_name, sa.column("id", sa.Integer), sa.column(column_name, sa.Text))
        for row_id, value in rows:
            new = cipher.encrypt(value, context) if encrypting else cipher.decrypt(value, context)
            connection.execute(sa.update(table).where(table.c.id == row_id)
                               .values({column_name: new}))


def upgrade() -> None:
    pending = _pending(encrypting=True)
    if pending:
        migration_key("cipher")  # refuse before changing anything (SQLite DDL is not undone)
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.alter_column("webhook_secret", existing_type=sa.String(length=80),
                              type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column("webhook_previous_secret", existing_type=sa.String(length=80),
                              type_=sa.Text(), existing_nullable=True)
    _convert(pending, encrypting=True)


def downgrade() -> None:
    _convert(_pending(encrypting=False), encrypting=False)
    with op.batch_alter_table("merchant", schema=None) as batch_op:
        batch_op.alter_column("webhook_previous_secret", existing_type=sa.Text(),
                              type_=sa.String(length=80), existing_nullable=True)
        batch_op.alter_column("webhook_secret", existing_type=sa.Text(),
                              type_=sa.String(length=80), existing_nullable=True)
