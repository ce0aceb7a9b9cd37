"""Many clients pushing first into a new namespace at once, against a real server.

A namespace (and a repository) is created by whichever first push gets there:
the others must find it, not collide with it. Before the insert-if-absent,
20 parallel first pushes answered 14 x 500 (``UNIQUE constraint failed``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.live import running_server
from tests.support.registry_helpers import bearer

CLIENTS = 24


async def _start_uploads(base: str, headers: dict[str, str], paths: list[str]) -> list[int]:
    limits = httpx.Limits(max_connections=len(paths))
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        responses = await asyncio.gather(*(client.post(path, timeout=60) for path in paths))
    return [response.status_code for response in responses]


def _audit(base: str, headers: dict[str, str], namespace: str, action: str) -> list[str]:
    response = httpx.get(
        f"{base}/api/v1/audit",
        params={"namespace": namespace, "action": action, "limit": 1000},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [event["subject"] for event in response.json()["events"]]


def test_concurrent_first_pushes_to_a_new_namespace(tmp_path: Path, database_url, make_token):  # type: ignore[no-untyped-def]
    headers = bearer(make_token(namespace="*", scopes="admin").secret)
    with running_server(tmp_path / "data", database_url) as base:
        many_models = [f"/v2/brandnew/model{n}/blobs/uploads/" for n in range(CLIENTS)]
        assert asyncio.run(_start_uploads(base, headers, many_models)) == [202] * CLIENTS
        one_model = ["/v2/another/model/blobs/uploads/"] * CLIENTS
        assert asyncio.run(_start_uploads(base, headers, one_model)) == [202] * CLIENTS

        # Exactly one creation each, audited once, whoever won.
        assert _audit(base, headers, "brandnew", "namespace.create") == ["namespace:brandnew"]
        assert sorted(_audit(base, headers, "brandnew", "repository.create")) == sorted(
            f"repository:brandnew/model{n}" for n in range(CLIENTS)
        )
        assert _audit(base, headers, "another", "namespace.create") == ["namespace:another"]
        assert _audit(base, headers, "another", "repository.create") == ["repository:another/model"]
        listed = httpx.get(
            f"{base}/api/v1/models", params={"namespace": "brandnew", "limit": 500}, headers=headers
        )
        assert listed.json()["page"]["total"] == CLIENTS
