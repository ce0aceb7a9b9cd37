"""Insert-if-absent on both engines, so concurrent pushes of one digest never collide."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import ConfigurationError


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the session's dialect; ``True`` if inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - settings refuse any other engine at start-up
        raise ConfigurationError(
            f"database {dialect!r} is not supported (use sqlite or postgresql)"
        )
    # RETURNING, not rowcount: psycopg's async cursor reports -1 for this statement.
    result = await session.execute(statement.returning(*table.primary_key.columns))
    return result.first() is not None
