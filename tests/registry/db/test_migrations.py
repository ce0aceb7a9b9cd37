"""The schema comes only from the migrations, and they match the models."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from registry.db import migrate
from registry.db.engine import create_sync_engine
from registry.db.models import Base


def test_no_drift_between_models_and_migrations(database_url):
    """`alembic check`: autogenerate finds nothing to add on a migrated database."""
    migrate.check(database_url)


def test_migrated_schema_has_every_model_table(database_url):
    engine = create_sync_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_downgrade_to_base_and_back(database_url):
    config = migrate.alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_sync_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(database_url)
    migrate.check(database_url)
