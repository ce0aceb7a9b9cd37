"""Alembic environment: online migrations only, with lock and statement timeouts."""

from __future__ import annotations

from alembic import context

from registry.db.engine import create_sync_engine
from registry.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set")
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Never queue behind a long transaction for ever, nor hold locks for long.
                connection.exec_driver_sql("SET lock_timeout = '10s'")
                connection.exec_driver_sql("SET statement_timeout = '120s'")
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                compare_type=True,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
