"""Alembic environment: the engine comes from billing.store.db (no alembic.ini needed)."""

from alembic import context

from billing.store.locks import schema_transaction
from billing.store.schema import Base


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


if "connection" in context.config.attributes:  # billing.store.db.upgrade: in its locked transaction
    run_migrations(context.config.attributes["connection"])
else:
    with schema_transaction(context.config.attributes["engine"]) as connection:  # one upgrade at a time
        run_migrations(connection)
