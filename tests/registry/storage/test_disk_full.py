"""A full disk: 507 with a clear message, nothing half-stored, and ``/readyz`` says so first.

The blob store runs on a real 4 MiB tmpfs filled up by the test (``ENOSPC`` from
the kernel) when this process may mount one; otherwise its ``os`` module is
swapped for one whose writes fail with ``ENOSPC`` once the disk is "full". The
database fills up for real: SQLite's ``max_page_count`` caps the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.db import engine as db_engine
from registry.settings import (
    DEFAULT_MIN_FREE_BYTES,
    DatabaseSettings,
    Settings,
    StorageSettings,
)
from registry.storage import filesystem
from tests.support.registry_helpers import bearer, issue_token, sha256_digest

BLOB = os.urandom(256 * 1024)
DIGEST = sha256_digest(BLOB)


class _FullDiskOs(ModuleType):
    """``os`` whose file writes fail with ENOSPC while ``full`` is set."""

    def __init__(self) -> None:
        super().__init__("os")
        self.full = False

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def _refuse(self) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(self, fd: int, data: Any) -> int:
        self._refuse()
        return os.write(fd, data)

    def writev(self, fd: int, buffers: Any) -> int:
        self._refuse()
        return os.writev(fd, buffers)


class SmallDisk:
    """Where the registry keeps its files, and a way to fill that disk up and free it."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mount = tmp_path / "small"
        self.mount.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.mount)],
            capture_output=True,
            check=False,
        )
        self._mounted = mounted.returncode == 0
        self.kind = "tmpfs" if self._mounted else "injected"
        self.data_dir = self.mount / "data"
        self._fake = _FullDiskOs()
        if self.kind == "injected":
            monkeypatch.setattr(filesystem, "os", self._fake)

    def fill(self) -> None:
        if self.kind == "injected":
            self._fake.full = True
            return
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError), (self.mount / "filler").open("wb", buffering=0) as f:
            while True:
                f.write(chunk)
        with contextlib.suppress(OSError), (self.mount / "filler").open("ab", buffering=0) as f:
            while True:  # the last few bytes of the last page
                f.write(b"\0")

    def free(self) -> None:
        self._fake.full = False
        (self.mount / "filler").unlink(missing_ok=True)

    def close(self) -> None:
        if self._mounted:
            subprocess.run(["umount", "-l", str(self.mount)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path, monkeypatch)
    try:
        yield disk
    finally:
        disk.close()


def _stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]


def _insufficient(response: Any) -> str:
    assert response.status_code == 507, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "INSUFFICIENT_STORAGE"
    assert "out of space" in error["message"]
    assert "Traceback" not in response.text
    message: str = error["message"]
    return message


def test_a_push_to_a_full_disk_is_507_and_stores_nothing(database_url, make_token, small_disk):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=small_disk.data_dir, database=DatabaseSettings(url=database_url))
    headers = bearer(make_token(scopes="admin").secret)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        small_disk.fill()
        # Monolithic: no partial file, no blob row, no audit event.
        _insufficient(
            client.post(
                f"/v2/acme/model/blobs/uploads/?digest={DIGEST}", content=BLOB, headers=headers
            )
        )
        assert _stored_files(settings.data_dir) == []
        assert client.head(f"/v2/acme/model/blobs/{DIGEST}", headers=headers).status_code == 404
        audit = client.get("/api/v1/audit", params={"namespace": "acme"}, headers=headers).json()
        assert not [e for e in audit["events"] if e["action"] == "blob.push"]

        # Chunked: the failed chunk leaves the session exactly as it was.
        started = client.post("/v2/acme/model/blobs/uploads/", headers=headers)
        assert started.status_code == 202
        location = started.headers["Location"]
        _insufficient(client.patch(location, content=BLOB, headers=headers))
        status = client.get(location, headers=headers)
        assert status.status_code == 204
        assert status.headers["Range"] == "0-0"

        # Space is back: the same session goes on and the blob arrives whole.
        small_disk.free()
        assert client.patch(location, content=BLOB, headers=headers).status_code == 202
        closed = client.put(f"{location}?digest={DIGEST}", headers=headers)
        assert closed.status_code == 201, closed.text
        fetched = client.get(f"/v2/acme/model/blobs/{DIGEST}", headers=headers)
        assert fetched.content == BLOB


def test_readyz_reports_the_blob_store_below_the_free_space_floor(database_url, tmp_path):  # type: ignore[no-untyped-def]
    free = shutil.disk_usage(tmp_path).free
    above = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(min_free_bytes=free * 4),
    )
    with TestClient(create_app(above)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    blobs = response.json()["checks"]["blobs"]
    assert "CUSTODY_MIN_FREE_BYTES" in blobs
    assert "below the floor" in blobs

    below = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(min_free_bytes=1024),
    )
    with TestClient(create_app(below)) as client:
        assert client.get("/readyz").status_code == 200


def test_readyz_on_a_small_disk_with_the_default_floor(database_url, small_disk):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=small_disk.data_dir, database=DatabaseSettings(url=database_url))
    assert settings.storage.min_free_bytes == DEFAULT_MIN_FREE_BYTES == 1024**3
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    if small_disk.kind == "tmpfs":  # 4 MiB is below the 1 GiB default floor
        assert response.status_code == 503
        assert "below the floor" in response.json()["checks"]["blobs"]
    else:  # the real disk under the injected one has room
        assert response.status_code == 200


def test_the_floor_is_read_from_the_environment():
    assert Settings.from_env({"CUSTODY_MIN_FREE_BYTES": "5"}).storage.min_free_bytes == 5
    assert Settings.from_env({}).storage.min_free_bytes == DEFAULT_MIN_FREE_BYTES


def test_a_full_database_is_507_and_keeps_nothing(sqlite_template, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    path = tmp_path / "custody.db"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(
        data_dir=tmp_path / "data", database=DatabaseSettings(url=f"sqlite:///{path}")
    )
    headers = bearer(issue_token(settings.effective_database_url, "*"))  # before the cap
    original = db_engine._sqlite_pragmas

    def capped(dbapi_connection: Any, record: Any) -> None:
        original(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages + 4}")
        cursor.close()

    monkeypatch.setattr(db_engine, "_sqlite_pragmas", capped)
    with TestClient(create_app(settings)) as client:
        statuses = []
        for _ in range(60):
            response = client.post(
                "/api/v1/tokens",
                json={"namespace": "acme", "scopes": ["pull"], "description": "x" * 1000},
                headers=headers,
            )
            statuses.append(response.status_code)
            if response.status_code == 507:
                problem = response.json()
                assert response.headers["content-type"].startswith("application/problem+json")
                assert problem["code"] == "INSUFFICIENT_STORAGE"
                assert "out of storage space" in problem["detail"]
                break
        assert set(statuses) <= {201, 507}
        assert statuses[-1] == 507
        listed = client.get("/api/v1/tokens", params={"namespace": "acme"}, headers=headers)
        assert len(listed.json()["tokens"]) == statuses.count(201)
