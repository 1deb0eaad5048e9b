"""Alembic environment: runs migrations on a connection handed over by services.persistence.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from services.persistence.base import Base
from services.persistence.models import *  # noqa: F403  (register every table on Base.metadata)

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Use the connection from ``config.attributes`` when given; else connect to sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set when no connection is handed over"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `affinity db upgrade`.")
run()
