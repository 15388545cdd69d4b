"""CSV batches from the console: the uploaded file in pieces, its bad cells, and where each
imported mandate came from (the sequence history of its next debit and its expiry)

Revision ID: 5897dd2e010f
Revises: cc2db9253057
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = '5897dd2e010f'
down_revision = "cc2db9253057"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('csv_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invitations', 'payment_requests', 'invoices', 'mandates', name='batchkind', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('uploaded', 'checking', 'valid', 'invalid', 'importing', 'imported', name='batchstatus', native_enum=False, length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('import_requested', sa.Boolean(), nullable=False),
    sa.Column('import_key', sa.String(length=80), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('file_error', sa.Text(), nullable=True),
    sa.Column('uploaded_by', sa.String(length=80), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('imported_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_csv_batch_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_batch')),
    sa.UniqueConstraint('import_key', name=op.f('uq_csv_batch_import_key')),
    sa.UniqueConstraint('public_id', name=op.f('uq_csv_batch_public_id'))
    )
    with op.batch_alter_table('csv_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csv_batch_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csv_batch_sha256'), ['sha256'], unique=False)

    op.create_table('csv_batch_chunk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['csv_batch.id'], name=op.f('fk_csv_batch_chunk_batch_id_csv_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_batch_chunk')),
    sa.UniqueConstraint('batch_id', 'seq', name=op.f('uq_csv_batch_chunk_batch_id_seq'))
    )
    with op.batch_alter_table('csv_batch_chunk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csv_batch_chunk_batch_id'), ['batch_id'], unique=False)

    op.create_table('csv_batch_error',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('column', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['csv_batch.id'], name=op.f('fk_csv_batch_error_batch_id_csv_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_batch_error'))
    )
    with op.batch_alter_table('csv_batch_error', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csv_batch_error_batch_id'), ['batch_id'], unique=False)

    op.create_table('imported_mandate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mandate_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('collected_before', sa.Boolean(), nullable=False),
    sa.Column('last_collected_at', portal.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('imported_at', portal.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['csv_batch.id'], name=op.f('fk_imported_mandate_batch_id_csv_batch')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.id'], name=op.f('fk_imported_mandate_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_mandate')),
    sa.UniqueConstraint('mandate_id', name=op.f('uq_imported_mandate_mandate_id'))
    )
    with op.batch_alter_table('imported_mandate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_mandate_batch_id'), ['batch_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('imported_mandate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_mandate_batch_id'))

    op.drop_table('imported_mandate')
    with op.batch_alter_table('csv_batch_error', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csv_batch_error_batch_id'))

    op.drop_table('csv_batch_error')
    with op.batch_alter_table('csv_batch_chunk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csv_batch_chunk_batch_id'))

    op.drop_table('csv_batch_chunk')
    with op.batch_alter_table('csv_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csv_batch_sha256'))
        batch_op.drop_index(batch_op.f('ix_csv_batch_merchant_id'))

    op.drop_table('csv_batch')
