"""provider route and follow-ups: payment reminders can be unsubscribed from; the sandbox
mandate's account (sandbox_mandate.consumer_iban, clear) becomes consumer_iban_ciphertext

Existing sandbox mandate accounts are encrypted with the app's data key, so this runs through
``flask --app portal db upgrade`` when any exist (a bare upgrade refuses before changing
anything), as 0009_sandbox_payer_iban does.

Revision ID: e75ebee83ba0
Revises: ad5b8c50e5fa
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "e75ebee83ba0"
down_revision = "ad5b8c50e5fa"
branch_labels = None
depends_on = None

MANDATE_IBAN = "sandbox_mandate.consumer_iban"  # portal.sandbox.provider.MANDATE_IBAN_CONTEXT


def _cipher():
    """The app's field cipher, from the app running the upgrade; None outside one."""
    from flask import current_app, has_app_context

    from portal.crypto import FieldCipher

    if not has_app_context():
        return None
    config = current_app.config
    return FieldCipher(config["DATA_KEY"], config["DATA_KEY_FALLBACKS"])


def _table(column: str) -> sa.TableClause:
    return sa.table("sandbox_mandate", sa.column("id", sa.Integer), sa.column(column, sa.Text))


def _has_values(column: str) -> bool:
    table = _table(column)
    return op.get_bind().execute(sa.select(sa.func.count()).select_from(table)
                                 .where(table.c[column].is_not(None))).scalar() > 0


def _convert(source: str, target: str, change) -> None:
    connection = op.get_bind()
    read, written = _table(source), _table(target)
    rows = connection.execute(sa.select(read.c.id, read.c[source])
                              .where(read.c[source].is_not(None))).all()
    for row_id, value in rows:
        connection.execute(sa.update(written).where(written.c.id == row_id)
                           .values({target: change(value)}))


def upgrade() -> None:
    cipher = _cipher()
    if cipher is None and _has_values("consumer_iban"):
        raise RuntimeError("sandbox mandate accounts need the data key to be encrypted: run "
                           "`flask --app portal db upgrade`")
    op.add_column("payment_request", sa.Column(
        "reminders_unsubscribed_at", portal.db.UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consumer_iban_ciphertext", sa.Text(), nullable=True))
    if cipher is not None:
        _convert("consumer_iban", "consumer_iban_ciphertext",
                 lambda value: cipher.encrypt(value, MANDATE_IBAN))
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.drop_column("consumer_iban")


def downgrade() -> None:
    cipher = _cipher()
    if cipher is None and _has_values("consumer_iban_ciphertext"):
        raise RuntimeError("decrypting sandbox mandate accounts needs the data key: downgrade "
                           "from inside the app (its data key configured)")
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consumer_iban", sa.String(length=34), nullable=True))
    if cipher is not None:
        _convert("consumer_iban_ciphertext", "consumer_iban",
                 lambda value: cipher.decrypt(value, MANDATE_IBAN))
    with op.batch_alter_table("sandbox_mandate", schema=None) as batch_op:
        batch_op.drop_column("consumer_iban_ciphertext")
    with op.batch_alter_table("payment_request", schema=None) as batch_op:
        batch_op.drop_column("reminders_unsubscribed_at")
