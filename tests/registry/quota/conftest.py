"""What the quota tests share: a site admin, a pusher, and looks at the store and the rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from registry.db.engine import create_sync_engine
from registry.settings import Settings
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer

TABLES = ("blobs", "repository_blobs", "upload_sessions", "manifests")


@dataclass
class QuotaWorld:
    client: TestClient  # type: ignore[type-arg]
    settings: Settings
    site: dict[str, str]  # a site admin's headers ('*', admin)
    oci: Oci  # pushes into acme with a namespace admin token

    def set_quota(self, namespace: str, quota: int | None) -> dict[str, Any]:
        response = self.client.patch(
            f"/api/v1/namespaces/{namespace}", json={"quota_bytes": quota}, headers=self.site
        )
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def used(self, namespace: str = "acme") -> int:
        response = self.client.get(f"/api/v1/namespaces/{namespace}", headers=self.site)
        assert response.status_code == 200, response.text
        used: int = response.json()["used_bytes"]
        return used

    def rows(self) -> dict[str, int]:
        engine = create_sync_engine(self.settings.effective_database_url)
        try:
            with engine.connect() as connection:
                return {
                    table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - fixed names
                    for table in TABLES
                }
        finally:
            engine.dispose()

    def stored(self) -> set[str]:
        """Every file in the blob store: blobs (by hex), upload temp files, sessions."""
        root = self.settings.blob_dir
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    def has_blob(self, digest: str) -> bool:
        hex_digest = digest.removeprefix("sha256:")
        return (self.settings.blob_dir / "sha256" / hex_digest[:2] / hex_digest).is_file()

    def events(self, action: str, namespace: str = "acme") -> list[dict[str, Any]]:
        response = self.client.get(
            "/api/v1/audit", params={"namespace": namespace, "action": action}, headers=self.site
        )
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events


@pytest.fixture
def world(client: TestClient, settings: Settings, make_token) -> QuotaWorld:  # type: ignore[no-untyped-def,type-arg]
    site = bearer(make_token(namespace="*", scopes="admin").secret)
    pusher = Oci(client, bearer(make_token(namespace="acme", scopes="admin").secret))
    make_token(namespace="beta", scopes="pull")  # beta exists too, without a quota
    return QuotaWorld(client, settings, site, pusher)
