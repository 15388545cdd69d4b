"""search keys in code-point order on PostgreSQL: customer_search_term.term and
mandate.reference_key get the "C" collation; term gets finer statistics

The console matches a partial key as a range of its B-tree index (``term >= 'sam+' AND term <
'sam,'``). That range is the key's prefixes only in code-point order: under a database's
linguistic collation (an ICU or glibc locale) punctuation and digits sort elsewhere, so a prefix
such as 'sam+' matched nothing. SQLite compares in code-point order already (BINARY): nothing
to do there. The indexes on both columns are rebuilt by the type change.

The planner joins a name's other words by how many terms it expects a prefix to match; with
the default 100 histogram buckets over every term (names, email parts, references) a prefix
matching 3,000 of 100,000 customers' names fell inside one bucket and was estimated at one row,
so it probed the other word once per candidate (ten times the work). 1,000 buckets see it.

Revision ID: d8448695c23a
Revises: 5897dd2e010f
"""
from alembic import op

revision = "d8448695c23a"
down_revision = "5897dd2e010f"
branch_labels = None
depends_on = None

COLUMNS = (("customer_search_term", "term", 254), ("mandate", "reference_key", 35))
TERM_STATISTICS = 1000


def _collate(collation: str, statistics: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} '
                   f'TYPE VARCHAR({length}) COLLATE "{collation}"')
    op.execute(f"ALTER TABLE customer_search_term ALTER COLUMN term SET STATISTICS {statistics}")


def upgrade() -> None:
    _collate("C", TERM_STATISTICS)


def downgrade() -> None:
    _collate("default", -1)
