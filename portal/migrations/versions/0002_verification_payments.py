"""verification payments

Revision ID: 15be6e0db3fa
Revises: 445840215de4
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = '15be6e0db3fa'
down_revision = '445840215de4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sandbox_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=140), nullable=False),
    sa.Column('redirect_url', sa.Text(), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('customer_name', sa.String(length=140), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('status', sa.Enum('open', 'pending', 'paid', 'failed', 'canceled', 'expired', name='paymentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('issuer', sa.String(length=40), nullable=True),
    sa.Column('payer_name', sa.String(length=140), nullable=True),
    sa.Column('payer_iban', sa.String(length=34), nullable=True),
    sa.Column('payer_bic', sa.String(length=11), nullable=True),
    sa.Column('mandate_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_payment')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_sandbox_payment_payment_id'))
    )
    op.create_table('verification_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_payment_id', sa.String(length=64), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('open', 'pending', 'paid', 'failed', 'canceled', 'expired', name='paymentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('checkout_url', sa.Text(), nullable=True),
    sa.Column('payer_name', sa.String(length=140), nullable=True),
    sa.Column('payer_iban_masked', sa.String(length=42), nullable=True),
    sa.Column('payer_bic', sa.String(length=11), nullable=True),
    sa.Column('provider_mandate_id', sa.String(length=64), nullable=True),
    sa.Column('status_history', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_verification_payment_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_verification_payment_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_payment')),
    sa.UniqueConstraint('provider', 'provider_payment_id', name=op.f('uq_verification_payment_provider_provider_payment_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_verification_payment_public_id'))
    )
    with op.batch_alter_table('verification_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_payment_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_payment_merchant_id'), ['merchant_id'], unique=False)

    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_column('evidence')

    with op.batch_alter_table('verification_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_payment_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_verification_payment_mandate_id'))

    op.drop_table('verification_payment')
    op.drop_table('sandbox_payment')
