"""mandate_pdf.archive_renew_by: when the newest archive timestamp needs renewing

Revision ID: ad5b8c50e5fa
Revises: 07ed11132e39
"""
import sqlalchemy as sa
from alembic import op

import portal.db

revision = "ad5b8c50e5fa"
down_revision = "07ed11132e39"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mandate_pdf", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archive_renew_by", portal.db.UtcDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_mandate_pdf_archive_renew_by"),
                              ["archive_renew_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mandate_pdf", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mandate_pdf_archive_renew_by"))
        batch_op.drop_column("archive_renew_by")
