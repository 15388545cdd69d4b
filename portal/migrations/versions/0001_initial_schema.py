"""initial schema

Revision ID: 445840215de4
Revises: 
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = '445840215de4'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    head = op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    # The chain starts at the genesis hash; record_audit() bumps this single row.
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'hash': '0' * 64}])
    op.create_table('merchant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('legal_name', sa.String(length=140), nullable=False),
    sa.Column('address_line', sa.String(length=140), nullable=False),
    sa.Column('postal_code', sa.String(length=16), nullable=False),
    sa.Column('city', sa.String(length=70), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('creditor_id', sa.String(length=35), nullable=False),
    sa.Column('display_name', sa.String(length=70), nullable=False),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('logo_mime', sa.String(length=40), nullable=True),
    sa.Column('primary_colour', sa.String(length=7), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('frame_origins', sa.JSON(), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('webhook_secret', sa.String(length=80), nullable=True),
    sa.Column('webhook_previous_secret', sa.String(length=80), nullable=True),
    sa.Column('webhook_previous_secret_expires_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant')),
    sa.UniqueConstraint('creditor_id', name=op.f('uq_merchant_creditor_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_merchant_public_id'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_audit_event_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_event_seq'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject'), ['subject'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=140), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('external_reference', sa.String(length=100), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_customer_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('public_id', name=op.f('uq_customer_public_id'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_external_reference'), ['external_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_event_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('public_id', name=op.f('uq_event_public_id'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_subject'), ['subject'], unique=False)

    op.create_table('mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=35), nullable=False),
    sa.Column('scheme', sa.Enum('CORE', 'B2B', name='scheme', native_enum=False, length=32), nullable=False),
    sa.Column('sequence_type', sa.Enum('recurrent', 'one_off', name='sequencetype', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('invited', 'awaiting_verification', 'active', 'revoked', 'cancelled', 'expired', 'failed', name='mandatestatus', native_enum=False, length=32), nullable=False),
    sa.Column('debtor_name', sa.String(length=140), nullable=True),
    sa.Column('debtor_address_line', sa.String(length=140), nullable=True),
    sa.Column('debtor_postal_code', sa.String(length=16), nullable=True),
    sa.Column('debtor_city', sa.String(length=70), nullable=True),
    sa.Column('debtor_country', sa.String(length=2), nullable=True),
    sa.Column('iban_ciphertext', sa.Text(), nullable=True),
    sa.Column('iban_hash', sa.String(length=64), nullable=True),
    sa.Column('iban_masked', sa.String(length=42), nullable=True),
    sa.Column('bic', sa.String(length=11), nullable=True),
    sa.Column('signing_method', sa.Enum('payment_verification', 'bank_emandate', name='signingmethod', native_enum=False, length=32), nullable=True),
    sa.Column('signed_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('text_version', sa.String(length=20), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_mandate_customer_id_customer')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_mandate_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandate')),
    sa.UniqueConstraint('merchant_id', 'reference', name=op.f('uq_mandate_merchant_id_reference')),
    sa.UniqueConstraint('public_id', name=op.f('uq_mandate_public_id'))
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_iban_hash'), ['iban_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandate_status'), ['status'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('email', 'sms', 'none', name='invitationchannel', native_enum=False, length=32), nullable=False),
    sa.Column('expires_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('used_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_invitation_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_invitation_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('public_id', name=op.f('uq_invitation_public_id'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_merchant_id'), ['merchant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_mandate_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_status'))
        batch_op.drop_index(batch_op.f('ix_mandate_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_mandate_iban_hash'))
        batch_op.drop_index(batch_op.f('ix_mandate_customer_id'))

    op.drop_table('mandate')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_subject'))
        batch_op.drop_index(batch_op.f('ix_event_merchant_id'))

    op.drop_table('event')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_customer_external_reference'))

    op.drop_table('customer')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_subject'))
        batch_op.drop_index(batch_op.f('ix_audit_event_merchant_id'))

    op.drop_table('audit_event')
    op.drop_table('merchant')
    op.drop_table('audit_chain_head')
