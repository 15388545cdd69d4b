"""emandates: bank signing, sandbox bank, directory cache

Revision ID: 3a538ed99f8e
Revises: e75ebee83ba0
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = '3a538ed99f8e'
down_revision = 'e75ebee83ba0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_directory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank', sa.String(length=20), nullable=False),
    sa.Column('product', sa.String(length=40), nullable=False),
    sa.Column('banks', sa.JSON(), nullable=False),
    sa.Column('directory_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_directory')),
    sa.UniqueConstraint('bank', 'product', name=op.f('uq_bank_directory_bank_product'))
    )
    op.create_table('sandbox_bank_transaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.String(length=16), nullable=False),
    sa.Column('page_token', sa.String(length=43), nullable=False),
    sa.Column('product', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('merchant_id', sa.String(length=10), nullable=False),
    sa.Column('sub_id', sa.Integer(), nullable=False),
    sa.Column('issuer_bic', sa.String(length=11), nullable=False),
    sa.Column('return_url', sa.String(length=512), nullable=False),
    sa.Column('entrance_code', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('request_ciphertext', sa.Text(), nullable=False),
    sa.Column('mandate_reference', sa.String(length=35), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('decided_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('debtor_name', sa.String(length=140), nullable=True),
    sa.Column('debtor_iban_ciphertext', sa.Text(), nullable=True),
    sa.Column('signer_name', sa.String(length=70), nullable=True),
    sa.Column('report_ciphertext', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_bank_transaction')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_sandbox_bank_transaction_transaction_id'))
    )
    op.create_table('bank_transaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('bank', sa.String(length=20), nullable=False),
    sa.Column('product', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('debtor_bic', sa.String(length=11), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('entrance_code', sa.String(length=40), nullable=False),
    sa.Column('transaction_id', sa.String(length=16), nullable=True),
    sa.Column('authentication_url', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('consumer_message', sa.String(length=512), nullable=True),
    sa.Column('validation_reference', sa.String(length=128), nullable=True),
    sa.Column('report_ciphertext', sa.Text(), nullable=True),
    sa.Column('status_history', sa.JSON(), nullable=False),
    sa.Column('expires_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_checked_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_bank_transaction_invitation_id_invitation')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_bank_transaction_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_bank_transaction_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_transaction')),
    sa.UniqueConstraint('bank', 'transaction_id', name=op.f('uq_bank_transaction_bank_transaction_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_bank_transaction_public_id'))
    )
    with op.batch_alter_table('bank_transaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_transaction_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_transaction_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_transaction_outcome'), ['outcome'], unique=False)

    # Plain ALTER TABLE ADD COLUMN: recreating these tables (batch mode) would fail on SQLite
    # with foreign keys on, as rows of other tables point at them.
    op.add_column('invitation', sa.Column('signing_methods', sa.JSON(), nullable=False,
                                          server_default=sa.text("'[\"payment_verification\"]'")))
    op.add_column('invitation', sa.Column('purpose', sa.Enum('sign', 'amend', 'cancel',
                                                             name='invitationpurpose',
                                                             native_enum=False, length=32),
                                          nullable=False, server_default='sign'))
    op.add_column('mandate', sa.Column('max_amount_cents', sa.Integer(), nullable=True))
    op.add_column('mandate', sa.Column('reason', sa.String(length=70), nullable=True))
    op.add_column('mandate', sa.Column('signer_name', sa.String(length=70), nullable=True))
    op.add_column('mandate', sa.Column('validation_reference', sa.String(length=128),
                                       nullable=True))
    op.add_column('merchant', sa.Column('signing_methods', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('merchant', 'signing_methods')
    for column in ('validation_reference', 'signer_name', 'reason', 'max_amount_cents'):
        op.drop_column('mandate', column)
    op.drop_column('invitation', 'purpose')
    op.drop_column('invitation', 'signing_methods')

    with op.batch_alter_table('bank_transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_transaction_outcome'))
        batch_op.drop_index(batch_op.f('ix_bank_transaction_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_bank_transaction_mandate_id'))

    op.drop_table('bank_transaction')
    op.drop_table('sandbox_bank_transaction')
    op.drop_table('bank_directory')
