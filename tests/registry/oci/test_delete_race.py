"""A manifest cannot be deleted from under an index being pushed at the same moment.

Against a real ``custody serve``: each round pushes a child manifest, then sends
at once ``DELETE`` of the child and ``PUT`` of an index listing it. Either the
delete wins (the index is refused: its child is unknown) or the index wins (the
delete is refused: an index lists the child); never both. Without the shared
repository lock both checks passed on PostgreSQL (READ COMMITTED) and both
committed, leaving an index that names a missing manifest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from registry.db.engine import create_sync_engine
from registry.db.models import Manifest, ManifestReference
from tests.support.live import running_server
from tests.support.oci_client import OCI_INDEX, OCI_MANIFEST
from tests.support.registry_helpers import bearer, sha256_digest

ROUNDS = 30
CHILDREN = 8  # more children per index: a longer window between its check and its write
BASE = "/v2/acme/model"


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    with running_server(tmp_path / "data", database_url) as base:
        yield base


def _push_blob(client: httpx.Client, data: bytes) -> dict[str, Any]:
    digest = sha256_digest(data)
    response = client.post(f"{BASE}/blobs/uploads/?digest={digest}", content=data)
    assert response.status_code == 201, response.text
    return {"mediaType": "application/octet-stream", "digest": digest, "size": len(data)}


def _push_children(client: httpx.Client, round_: int) -> list[bytes]:
    config = _push_blob(client, b"{}")
    config["mediaType"] = "application/vnd.oci.empty.v1+json"
    children = []
    for i in range(CHILDREN):
        layer = _push_blob(client, f"round {round_} part {i}".encode())
        body = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        ).encode()
        put = client.put(
            f"{BASE}/manifests/{sha256_digest(body)}",
            content=body,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert put.status_code == 201, put.text
        children.append(body)
    return children


def _index(children: list[bytes]) -> bytes:
    manifests = [
        {"mediaType": OCI_MANIFEST, "digest": sha256_digest(c), "size": len(c)} for c in children
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


def _race(base: str, headers: dict[str, str], children: list[bytes]) -> tuple[int, int]:
    """DELETE the last child || PUT an index listing every child; their status codes."""
    index = _index(children)
    start = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def delete() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            start.wait()
            url = f"{BASE}/manifests/{sha256_digest(children[-1])}"
            statuses["delete"] = client.delete(url).status_code

    def put() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            start.wait()
            statuses["put"] = client.put(
                f"{BASE}/manifests/{sha256_digest(index)}",
                content=index,
                headers={"Content-Type": OCI_INDEX},
            ).status_code

    threads = [threading.Thread(target=delete), threading.Thread(target=put)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses["delete"], statuses["put"]


def _dangling(database_url: str) -> list[tuple[str, str]]:
    """(index, child) pairs where the index lists a manifest the repository lacks."""
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            listed = connection.execute(
                select(Manifest.digest, ManifestReference.digest)
                .join(ManifestReference, ManifestReference.manifest_id == Manifest.id)
                .where(ManifestReference.role == "manifest")
            ).all()
            present = set(connection.scalars(select(Manifest.digest)).all())
    finally:
        engine.dispose()
    return [(index, child) for index, child in listed if child not in present]


def test_a_child_is_never_deleted_from_under_a_concurrent_index_push(
    server: str, database_url: str, make_token
):
    headers = bearer(make_token(scopes="pull,push").secret)
    outcomes: set[tuple[int, int]] = set()
    with httpx.Client(base_url=server, headers=headers, timeout=60) as client:
        for round_ in range(ROUNDS):
            children = _push_children(client, round_)
            outcome = _race(server, headers, children)
            # delete won (202) and the index was refused (400 MANIFEST_BLOB_UNKNOWN), or
            # the index won (201) and the delete was refused (409 DENIED): never 202 + 201.
            assert outcome in {(202, 400), (409, 201)}, (round_, outcome)
            outcomes.add(outcome)
    assert _dangling(database_url) == []
    assert outcomes  # every round ran
