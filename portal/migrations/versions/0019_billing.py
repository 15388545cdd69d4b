"""billing: invoices (lines, payments entered on them, the per-merchant number sequence and
settings), plans, subscriptions with their pauses and billed periods, and the payment
provider's settlements with each merchant's share

Revision ID: 8c88dae76029
Revises: 3a538ed99f8e
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "8c88dae76029"
down_revision = "3a538ed99f8e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_settlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('settlement_id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('settled_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('revenue_cents', sa.Integer(), nullable=False),
    sa.Column('fees_cents', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('imported_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_settlement')),
    sa.UniqueConstraint('provider', 'settlement_id', name=op.f('uq_provider_settlement_provider_settlement_id'))
    )
    op.create_table('invoice_sequence',
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=4), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_invoice_sequence_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('merchant_id', 'series', name=op.f('pk_invoice_sequence'))
    )
    op.create_table('invoice_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('number_prefix', sa.String(length=20), nullable=False),
    sa.Column('yearly', sa.Boolean(), nullable=False),
    sa.Column('due_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_invoice_settings_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_settings')),
    sa.UniqueConstraint('merchant_id', name=op.f('uq_invoice_settings_merchant_id'))
    )
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('vat_rate', sa.String(length=6), nullable=True),
    sa.Column('interval', sa.Enum('monthly', 'quarterly', 'half_yearly', 'yearly', name='interval', native_enum=False, length=32), nullable=False),
    sa.Column('term_periods', sa.Integer(), nullable=True),
    sa.Column('term_end_date', sa.Date(), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_plan_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan')),
    sa.UniqueConstraint('public_id', name=op.f('uq_plan_public_id'))
    )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('settlement_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('payments_cents', sa.Integer(), nullable=False),
    sa.Column('refunds_cents', sa.Integer(), nullable=False),
    sa.Column('chargebacks_cents', sa.Integer(), nullable=False),
    sa.Column('fees_cents', sa.Integer(), nullable=False),
    sa.Column('payout_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_settlement_share_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['settlement_id'], ['provider_settlement.id'], name=op.f('fk_settlement_share_settlement_id_provider_settlement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_share')),
    sa.UniqueConstraint('settlement_id', 'merchant_id', name=op.f('uq_settlement_share_settlement_id_merchant_id'))
    )
    with op.batch_alter_table('settlement_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_share_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_share_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('stored_mandate_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('active', 'paused', 'stopped', name='subscriptionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('anchor_day', sa.Integer(), nullable=False),
    sa.Column('periods_from', sa.Date(), nullable=False),
    sa.Column('periods_from_index', sa.Integer(), nullable=False),
    sa.Column('next_period', sa.Integer(), nullable=False),
    sa.Column('billed_periods', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('pending_plan_id', sa.Integer(), nullable=True),
    sa.Column('pending_plan_from', sa.Date(), nullable=True),
    sa.Column('stop_on', sa.Date(), nullable=True),
    sa.Column('stopped_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sa.String(length=40), nullable=True),
    sa.Column('offer_mandate', sa.Boolean(), nullable=False),
    sa.Column('external_reference', sa.String(length=100), nullable=True),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('claimed_until', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_subscription_customer_id_customer')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_subscription_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_subscription_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['pending_plan_id'], ['plan.id'], name=op.f('fk_subscription_pending_plan_id_plan')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_subscription_plan_id_plan')),
    sa.ForeignKeyConstraint(['stored_mandate_id'], ['provider_mandate.id'], name=op.f('fk_subscription_stored_mandate_id_provider_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
    sa.UniqueConstraint('public_id', name=op.f('uq_subscription_public_id'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_subscription_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_external_reference'), ['external_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_plan_id'), ['plan_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=35), nullable=False),
    sa.Column('description', sa.String(length=140), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_cents', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'overdue', 'paid', 'void', name='invoicestatus', native_enum=False, length=32), nullable=False),
    sa.Column('paid_cents', sa.Integer(), nullable=False),
    sa.Column('collection', sa.Enum('debit', 'payment_request', name='collectionkind', native_enum=False, length=32), nullable=False),
    sa.Column('debit_id', sa.Integer(), nullable=True),
    sa.Column('payment_request_id', sa.Integer(), nullable=True),
    sa.Column('mandate_id', sa.Integer(), nullable=True),
    sa.Column('debit_refused', sa.String(length=40), nullable=True),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('external_reference', sa.String(length=100), nullable=True),
    sa.Column('paid_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('voided_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_invoice_customer_id_customer')),
    sa.ForeignKeyConstraint(['debit_id'], ['debit.id'], name=op.f('fk_invoice_debit_id_debit')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_invoice_mandate_id_mandate')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_invoice_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['payment_request_id'], ['payment_request.id'], name=op.f('fk_invoice_payment_request_id_payment_request')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_invoice_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('debit_id', name=op.f('uq_invoice_debit_id')),
    sa.UniqueConstraint('merchant_id', 'number', name=op.f('uq_invoice_merchant_id_number')),
    sa.UniqueConstraint('payment_request_id', name=op.f('uq_invoice_payment_request_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_invoice_public_id'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_external_reference'), ['external_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_issue_date'), ['issue_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_mandate_id'), ['mandate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('subscription_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('resumes_on', sa.Date(), nullable=True),
    sa.Column('state', sa.Enum('scheduled', 'current', 'ended', 'cancelled', name='pausestate', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_subscription_pause_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_pause'))
    )
    with op.batch_alter_table('subscription_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_pause_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=140), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_amount_cents', sa.Integer(), nullable=False),
    sa.Column('vat_rate', sa.String(length=6), nullable=False),
    sa.Column('net_cents', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('gross_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'position', name=op.f('uq_invoice_line_invoice_id_position'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=30), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('effect', sa.String(length=20), nullable=False),
    sa.Column('double', sa.Boolean(), nullable=False),
    sa.Column('paid_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_payment_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_invoice_payment_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_invoice_payment_payment_id_payment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_payment')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_invoice_payment_payment_id')),
    sa.UniqueConstraint('public_id', name=op.f('uq_invoice_payment_public_id'))
    )
    with op.batch_alter_table('invoice_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_payment_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_payment_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('subscription_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('billed', 'skipped', name='periodoutcome', native_enum=False, length=32), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_subscription_period_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_subscription_period_plan_id_plan')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_subscription_period_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_period')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_subscription_period_invoice_id')),
    sa.UniqueConstraint('subscription_id', 'index', name=op.f('uq_subscription_period_subscription_id_index'))
    )
    with op.batch_alter_table('subscription_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_period_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subscription_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_period_subscription_id'))

    op.drop_table('subscription_period')
    with op.batch_alter_table('invoice_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_payment_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_payment_invoice_id'))

    op.drop_table('invoice_payment')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('subscription_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_pause_subscription_id'))

    op.drop_table('subscription_pause')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_status'))
        batch_op.drop_index(batch_op.f('ix_invoice_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_issue_date'))
        batch_op.drop_index(batch_op.f('ix_invoice_external_reference'))
        batch_op.drop_index(batch_op.f('ix_invoice_customer_id'))

    op.drop_table('invoice')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_plan_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_mandate_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_external_reference'))
        batch_op.drop_index('ix_subscription_due')
        batch_op.drop_index(batch_op.f('ix_subscription_customer_id'))

    op.drop_table('subscription')
    with op.batch_alter_table('settlement_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_share_settlement_id'))
        batch_op.drop_index(batch_op.f('ix_settlement_share_merchant_id'))

    op.drop_table('settlement_share')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_merchant_id'))

    op.drop_table('plan')
    op.drop_table('invoice_settings')
    op.drop_table('invoice_sequence')
    op.drop_table('provider_settlement')
