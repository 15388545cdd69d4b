"""collections: per-merchant collection settings, debits and their attempts, pain.008 batches,
imported return files, collection flags, and the sandbox bank's clearing records

Revision ID: c14d0b7e5a31
Revises: 7a7666078b0f
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "c14d0b7e5a31"
down_revision = "7a7666078b0f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collection_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('pain_version', sa.Enum('pain.008.001.02', 'pain.008.001.08', name='painversion', native_enum=False, length=32), nullable=False),
    sa.Column('scheme', sa.String(length=4), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=False),
    sa.Column('creditor_bic', sa.String(length=11), nullable=True),
    sa.Column('transaction_count', sa.Integer(), nullable=False),
    sa.Column('control_sum_cents', sa.Integer(), nullable=False),
    sa.Column('payment_groups', sa.JSON(), nullable=False),
    sa.Column('first_collection_date', sa.Date(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('delivered_to', sa.String(length=20), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_collection_batch_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_batch')),
    sa.UniqueConstraint('message_id', name=op.f('uq_collection_batch_message_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_collection_batch_public_id'))
    )
    with op.batch_alter_table('collection_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_batch_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('collection_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('route', sa.Enum('bank', 'provider', name='route', native_enum=False, length=32), nullable=False),
    sa.Column('pain_version', sa.Enum('pain.008.001.02', 'pain.008.001.08', name='painversion', native_enum=False, length=32), nullable=False),
    sa.Column('creditor_iban', sa.String(length=34), nullable=True),
    sa.Column('creditor_bic', sa.String(length=11), nullable=True),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('prenotification_days', sa.Integer(), nullable=False),
    sa.Column('retry_delays_days', sa.JSON(), nullable=False),
    sa.Column('b2b_max_amount_cents', sa.Integer(), nullable=True),
    sa.Column('amendment_invitations', sa.Boolean(), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_collection_settings_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_settings')),
    sa.UniqueConstraint('merchant_id', name=op.f('uq_collection_settings_merchant_id'))
    )
    op.create_table('return_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('pain.002', 'camt.054', 'csv', name='returnformat', native_enum=False, length=32), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_return_import_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_import')),
    sa.UniqueConstraint('merchant_id', 'file_sha256', name=op.f('uq_return_import_merchant_id_file_sha256')),
    sa.UniqueConstraint('public_id', name=op.f('uq_return_import_public_id'))
    )
    with op.batch_alter_table('return_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_import_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('sandbox_bank_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('mandate_reference', sa.String(length=35), nullable=False),
    sa.Column('reason_code', sa.String(length=8), nullable=True),
    sa.Column('cleared_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['collection_batch.id'], name=op.f('fk_sandbox_bank_entry_batch_id_collection_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_bank_entry')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_sandbox_bank_entry_end_to_end_id'))
    )
    with op.batch_alter_table('sandbox_bank_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_bank_entry_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sandbox_bank_entry_mandate_reference'), ['mandate_reference'], unique=False)

    op.create_table('sandbox_bank_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('received_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['collection_batch.id'], name=op.f('fk_sandbox_bank_file_batch_id_collection_batch')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_sandbox_bank_file_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_bank_file')),
    sa.UniqueConstraint('batch_id', name=op.f('uq_sandbox_bank_file_batch_id'))
    )
    with op.batch_alter_table('sandbox_bank_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sandbox_bank_file_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('debit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('route', sa.Enum('bank', 'provider', name='route', native_enum=False, length=32), nullable=False),
    sa.Column('scheme', sa.String(length=4), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'submitted', 'collected', 'rejected', 'returned', 'refunded', 'cancelled', name='debitstatus', native_enum=False, length=32), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('original_amount_cents', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=140), nullable=False),
    sa.Column('invoice_number', sa.String(length=35), nullable=True),
    sa.Column('payment_request', sa.String(length=40), nullable=True),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('requested_date', sa.Date(), nullable=True),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('sequence_type', sa.Enum('FRST', 'RCUR', 'OOFF', 'FNAL', name='seqtype', native_enum=False, length=32), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=8), nullable=True),
    sa.Column('reason_text', sa.String(length=300), nullable=True),
    sa.Column('will_retry', sa.Boolean(), nullable=False),
    sa.Column('prenotified_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('pay_link', sa.Text(), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_debit_customer_id_customer')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_debit_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_debit_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debit')),
    sa.UniqueConstraint('public_id', name=op.f('uq_debit_public_id'))
    )
    with op.batch_alter_table('debit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debit_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_debit_due', ['status', 'collection_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_payment_request'), ['payment_request'], unique=False)

    op.create_table('collection_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.Enum('AC04', 'SL01', 'amendment_pending', name='flagcode', native_enum=False, length=32), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('debit_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_collection_flag_customer_id_customer')),
    sa.ForeignKeyConstraint(['debit_id'], ['debit.id'], name=op.f('fk_collection_flag_debit_id_debit')),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], name=op.f('fk_collection_flag_invitation_id_invitation')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_collection_flag_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_collection_flag_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_flag'))
    )
    with op.batch_alter_table('collection_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_flag_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_flag_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_flag_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('debit_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('debit_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('provider_payment_id', sa.String(length=64), nullable=True),
    sa.Column('sequence_type', sa.Enum('FRST', 'RCUR', 'OOFF', 'FNAL', name='seqtype', native_enum=False, length=32), nullable=False),
    sa.Column('collection_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('debtor_iban_ciphertext', sa.Text(), nullable=True),
    sa.Column('debtor_iban_hash', sa.String(length=64), nullable=True),
    sa.Column('debtor_bic', sa.String(length=11), nullable=True),
    sa.Column('mandate_reference', sa.String(length=35), nullable=False),
    sa.Column('creditor_id', sa.String(length=35), nullable=False),
    sa.Column('amendment', sa.JSON(), nullable=True),
    sa.Column('outcome', sa.Enum('scheduled', 'submitted', 'collected', 'rejected', 'returned', 'refunded', 'cancelled', name='debitstatus', native_enum=False, length=32), nullable=True),
    sa.Column('reason_code', sa.String(length=8), nullable=True),
    sa.Column('reason_text', sa.String(length=300), nullable=True),
    sa.Column('settled_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['collection_batch.id'], name=op.f('fk_debit_attempt_batch_id_collection_batch')),
    sa.ForeignKeyConstraint(['debit_id'], ['debit.id'], name=op.f('fk_debit_attempt_debit_id_debit')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_debit_attempt_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_debit_attempt_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_debit_attempt')),
    sa.UniqueConstraint('debit_id', 'number', name=op.f('uq_debit_attempt_debit_id_number')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_debit_attempt_end_to_end_id'))
    )
    with op.batch_alter_table('debit_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debit_attempt_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_attempt_debit_id'), ['debit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_attempt_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_attempt_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_attempt_provider_payment_id'), ['provider_payment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('debit_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debit_attempt_provider_payment_id'))
        batch_op.drop_index(batch_op.f('ix_debit_attempt_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_debit_attempt_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_debit_attempt_debit_id'))
        batch_op.drop_index(batch_op.f('ix_debit_attempt_batch_id'))

    op.drop_table('debit_attempt')
    with op.batch_alter_table('collection_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_flag_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_collection_flag_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_collection_flag_customer_id'))

    op.drop_table('collection_flag')
    with op.batch_alter_table('debit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debit_payment_request'))
        batch_op.drop_index(batch_op.f('ix_debit_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_debit_mandate_id'))
        batch_op.drop_index('ix_debit_due')
        batch_op.drop_index(batch_op.f('ix_debit_customer_id'))

    op.drop_table('debit')
    with op.batch_alter_table('sandbox_bank_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_bank_file_merchant_id'))

    op.drop_table('sandbox_bank_file')
    with op.batch_alter_table('sandbox_bank_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sandbox_bank_entry_mandate_reference'))
        batch_op.drop_index(batch_op.f('ix_sandbox_bank_entry_batch_id'))

    op.drop_table('sandbox_bank_entry')
    with op.batch_alter_table('return_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_import_merchant_id'))

    op.drop_table('return_import')
    op.drop_table('collection_settings')
    with op.batch_alter_table('collection_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_batch_merchant_id'))

    op.drop_table('collection_batch')
