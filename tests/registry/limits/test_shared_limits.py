"""Limits kept in Redis are shared: two registry apps (two replicas) count together.

Redis counts on its own clock, so recovery is awaited with a short window (a bounded
poll, no timing assertion). Each test has its own key prefix, deleted after it.
"""

from __future__ import annotations

import time
from dataclasses import replace

from litestar.testing import TestClient

from registry.settings import LimitSettings
from tests.conftest import TokenFactory
from tests.registry.limits.conftest import AppFactory
from tests.support.oci_client import Oci, oci_code
from tests.support.registry_helpers import bearer

BOGUS = bearer("cst_0123456789abcdef_not-a-real-secret")


def _eventually_ok(client: TestClient, headers: dict[str, str], seconds: float = 10) -> int:  # type: ignore[type-arg]
    """Poll until the request is let through again; the last status."""
    deadline = time.monotonic() + seconds
    status = client.get("/v2", headers=headers).status_code
    while status == 429 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client.get("/v2", headers=headers).status_code
    return status


def test_two_replicas_share_a_token_limit(
    make_client: AppFactory, make_token: TokenFactory, redis_limits: LimitSettings
) -> None:
    limits = replace(redis_limits, token_reads_per_second=4)
    first, second = make_client(limits), make_client(limits)
    headers = bearer(make_token(scopes="pull").secret)
    other = bearer(make_token(scopes="pull").secret)
    statuses = [c.get("/v2", headers=headers).status_code for c in (first, second) * 3]
    # Four in all across both replicas (a window may turn mid-way: then a few more pass).
    assert statuses[:4] == [200] * 4
    assert 429 in statuses[4:]
    refused = next(
        r
        for r in (c.get("/v2", headers=headers) for c in (first, second) * 3)
        if r.status_code == 429
    )
    assert int(refused.headers["Retry-After"]) >= 1
    assert oci_code(refused) == "TOOMANYREQUESTS"
    # Another token is counted apart, on both replicas.
    assert first.get("/v2", headers=other).status_code == 200
    assert second.get("/v2", headers=other).status_code == 200
    assert _eventually_ok(second, headers) == 200


def test_failures_on_one_replica_block_the_address_on_the_other(
    make_client: AppFactory, make_token: TokenFactory, redis_limits: LimitSettings
) -> None:
    limits = replace(
        redis_limits, auth_failures=3, auth_failure_window_seconds=60, auth_block_seconds=1
    )
    first, second = make_client(limits), make_client(limits)
    for _ in range(4):
        assert first.get("/v2", headers=BOGUS).status_code == 401
    refused = second.get("/v2", headers=BOGUS)
    assert refused.status_code == 429
    valid = bearer(make_token(scopes="pull").secret)
    assert second.get("/v2", headers=valid).status_code == 429
    # The block lapses after its second; the failures are still counted, so the next
    # failure blocks again at once.
    assert _eventually_ok(second, valid) == 200
    assert first.get("/v2", headers=BOGUS).status_code == 401
    assert second.get("/v2", headers=BOGUS).status_code == 429


def test_the_download_budget_is_shared(
    make_client: AppFactory, make_token: TokenFactory, redis_limits: LimitSettings
) -> None:
    limits = replace(redis_limits, download_bytes=5000, download_period_seconds=600)
    first, second = make_client(limits), make_client(limits)
    headers = bearer(make_token(scopes="pull,push").secret)
    digest = Oci(first, headers).push_blob(b"z" * 3000)
    blob = f"/v2/acme/model/blobs/{digest}"
    assert first.get(blob, headers=headers).status_code == 200
    refused = second.get(blob, headers=headers)
    assert refused.status_code == 429, refused.text
    assert refused.json()["errors"][0]["detail"]["limit"] == "download bytes"
    assert second.get(blob, headers={**headers, "Range": "bytes=0-1999"}).status_code == 206


def test_an_unreachable_store_refuses_rather_than_lets_through(
    make_client: AppFactory, make_token: TokenFactory, redis_limits: LimitSettings
) -> None:
    """Fail closed: 503 with Retry-After, never a 500 nor an unlimited answer."""
    limits = replace(
        redis_limits,
        store="redis://127.0.0.1:1/0",
        token_reads_per_second=10,
        address_reads_per_second=10,
    )
    client = make_client(limits)
    answer = client.get("/v2", headers=bearer(make_token(scopes="pull").secret))
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    assert oci_code_503(answer) == "UNAVAILABLE"
    problem = client.get("/api/v1/models")
    assert problem.status_code == 503
    assert problem.json()["code"] == "UNAVAILABLE"


def oci_code_503(response) -> str:  # type: ignore[no-untyped-def]
    code: str = response.json()["errors"][0]["code"]
    return code
