"""Alembic environment: uses warmline's engine factory so SQLite gets its pragmas."""

from __future__ import annotations

from alembic import context

from warmline.storage.db import make_engine
from warmline.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Apply migrations on one connection, in one transaction."""
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
