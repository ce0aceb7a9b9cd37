"""Issue a real API token straight through the service, as ``custody token create`` does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from registry.auth import IssuedToken, Scope, TokenService
from registry.db.engine import create_service_engine


def issue(
    database_url: str,
    namespace: str = "acme",
    scopes: str = "pull,push",
    expires_in: timedelta | None = timedelta(hours=1),
) -> IssuedToken:
    async def work() -> IssuedToken:
        engine = create_service_engine(database_url)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                issued = await TokenService(session).create(
                    namespace=namespace,
                    scopes=Scope.parse_list(scopes),
                    actor="test",
                    expires_in=expires_in,
                )
                await session.commit()
                return issued
        finally:
            await engine.dispose()

    return asyncio.run(work())
