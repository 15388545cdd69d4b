"""Alembic environment: runs on the connection given by :mod:`portal.migrate`."""

from __future__ import annotations

from alembic import context

from portal.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    user_module_prefix="portal.db.",
)
with context.begin_transaction():
    context.run_migrations()
