"""A database kept busy by another writer: 503 with ``Retry-After``, nothing half-stored.

SQLite: another connection holds the write lock (``BEGIN IMMEDIATE``) longer than the
registry's busy timeout, shortened here. PostgreSQL's equivalents (a deadlock victim, a
serialization failure, a lock not available) are recognised by SQLSTATE.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy.exc import OperationalError

from registry import create_app
from registry.db import engine as db_engine
from registry.http.problems import _database_busy
from registry.settings import DatabaseSettings, Settings
from tests.support.registry_helpers import bearer, issue_token


def test_a_write_blocked_by_another_writer_is_503_and_stores_nothing(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "custody.db"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(
        data_dir=tmp_path / "data", database=DatabaseSettings(url=f"sqlite:///{path}")
    )
    headers = bearer(issue_token(settings.effective_database_url, "*"))
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        warm = client.get("/api/v1/tokens", params={"namespace": "acme"}, headers=headers)
        assert warm.status_code == 200  # the token is verified and cached
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            api = client.post(
                "/api/v1/tokens",
                json={"namespace": "acme", "scopes": ["pull"], "description": "busy"},
                headers=headers,
            )
            oci = client.post("/v2/acme/model/blobs/uploads/", headers=headers)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert api.status_code == 503, api.text
        assert api.headers["Retry-After"] == "1"
        assert api.headers["content-type"].startswith("application/problem+json")
        assert api.json()["code"] == "UNAVAILABLE" and "retry" in api.json()["detail"]
        assert oci.status_code == 503, oci.text
        assert oci.json()["errors"][0]["code"] == "UNAVAILABLE"
        # Nothing of the refused request was kept; once the lock is gone, it works.
        listed = client.get("/api/v1/tokens", params={"namespace": "acme"}, headers=headers)
        assert [t["description"] for t in listed.json()["tokens"]].count("busy") == 0
        again = client.post(
            "/api/v1/tokens",
            json={"namespace": "acme", "scopes": ["pull"], "description": "busy"},
            headers=headers,
        )
        assert again.status_code == 201, again.text


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "busy"),
    [("40P01", True), ("40001", True), ("55P03", True), ("23505", False), ("53100", False)],
)
def test_postgresql_retryable_failures_are_recognised_by_sqlstate(
    sqlstate: str, busy: bool
) -> None:
    wrapped = OperationalError("UPDATE ...", {}, _PgError(sqlstate))
    assert _database_busy(wrapped) is busy
    try:
        raise RuntimeError("while committing") from wrapped
    except RuntimeError as outer:
        assert _database_busy(outer) is busy
