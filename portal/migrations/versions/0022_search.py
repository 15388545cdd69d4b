"""search: compact mandate references, the account's last four characters, customers' search
terms (name words, email parts, the merchant's reference), mandates by creation time

Existing rows are backfilled in batches from what is stored: the reference, the masked IBAN
(its last four characters are shown there already, so nothing is decrypted) and the customer's
name, email and external reference.

Revision ID: cc2db9253057
Revises: e970cb9a3c5f
"""
import sqlalchemy as sa
from alembic import op

from portal.mandates.search_keys import customer_term_rows, mandate_keys

revision = "cc2db9253057"
down_revision = "e970cb9a3c5f"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("mandate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_key", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("iban_last4", sa.String(length=4), nullable=True))
    op.create_table(
        "customer_search_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("term", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name=op.f("fk_customer_search_term_customer_id_customer")),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchant.id"],
                                name=op.f("fk_customer_search_term_merchant_id_merchant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_search_term")),
    )
    _backfill()
    op.create_index(op.f("ix_mandate_reference_key"), "mandate", ["reference_key"], unique=False)
    op.create_index(op.f("ix_mandate_iban_last4"), "mandate", ["iban_last4"], unique=False)
    op.create_index(op.f("ix_mandate_created_at"), "mandate", ["created_at"], unique=False)
    op.create_index("ix_customer_search_term_customer", "customer_search_term",
                    ["customer_id", "kind", "term"], unique=False)
    op.create_index("ix_customer_search_term_lookup", "customer_search_term",
                    ["kind", "term", "merchant_id", "customer_id"], unique=False)


def _backfill() -> None:
    """Keys for the rows already there, a batch at a time (indexes are built afterwards)."""
    connection = op.get_bind()
    mandate = sa.table("mandate", sa.column("id", sa.Integer), sa.column("reference", sa.String),
                       sa.column("iban_masked", sa.String),
                       sa.column("reference_key", sa.String), sa.column("iban_last4", sa.String))
    customer = sa.table("customer", sa.column("id", sa.Integer),
                        sa.column("merchant_id", sa.Integer), sa.column("name", sa.String),
                        sa.column("email", sa.String),
                        sa.column("external_reference", sa.String))
    terms = sa.table("customer_search_term", sa.column("customer_id", sa.Integer),
                     sa.column("merchant_id", sa.Integer), sa.column("kind", sa.String),
                     sa.column("term", sa.String))
    update = (mandate.update().where(mandate.c.id == sa.bindparam("row_id"))
              .values(reference_key=sa.bindparam("key"), iban_last4=sa.bindparam("last4")))
    last = 0
    while rows := connection.execute(
            sa.select(mandate.c.id, mandate.c.reference, mandate.c.iban_masked)
            .where(mandate.c.id > last).order_by(mandate.c.id).limit(BATCH)).all():
        values = []
        for row in rows:
            keys = mandate_keys(row.reference, row.iban_masked)
            values.append({"row_id": row.id, "key": keys["reference_key"],
                           "last4": keys["iban_last4"]})
        connection.execute(update, values)
        last = rows[-1].id
    last = 0
    while rows := connection.execute(
            sa.select(customer).where(customer.c.id > last).order_by(customer.c.id)
            .limit(BATCH)).all():
        values = [term for row in rows for term in customer_term_rows(
            row.id, row.merchant_id, row.name, row.email, row.external_reference)]
        if values:
            connection.execute(terms.insert(), values)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_customer_search_term_lookup", table_name="customer_search_term")
    op.drop_index("ix_customer_search_term_customer", table_name="customer_search_term")
    op.drop_table("customer_search_term")
    op.drop_index(op.f("ix_mandate_created_at"), table_name="mandate")
    op.drop_index(op.f("ix_mandate_iban_last4"), table_name="mandate")
    op.drop_index(op.f("ix_mandate_reference_key"), table_name="mandate")
    with op.batch_alter_table("mandate", schema=None) as batch_op:
        batch_op.drop_column("iban_last4")
        batch_op.drop_column("reference_key")

