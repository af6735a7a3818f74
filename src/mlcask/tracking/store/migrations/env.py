"""Alembic environment: migrations run on a connection that mlcask hands in."""

from alembic import context

from mlcask.tracking.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
