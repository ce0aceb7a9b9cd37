"""Rate limits in one process (the in-memory store), on a frozen clock.

Each limit trips with 429 and ``Retry-After`` (an OCI error body under ``/v2/``, problem
details under ``/api/``) and lets requests through again once the clock has moved past
its window.
"""

from __future__ import annotations

from typing import Any

from registry.settings import LimitSettings, Settings
from tests.conftest import TokenFactory
from tests.registry.limits.conftest import OFF, AppFactory, Freeze
from tests.support.oci_client import Oci, oci_code
from tests.support.registry_helpers import bearer

NAME = "acme/model"
BOGUS = bearer("cst_0123456789abcdef_not-a-real-secret")


def _retry_after(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.text
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


def test_token_reads_trip_and_recover(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(token_reads_per_second=3)
    clock = freeze()
    headers = bearer(make_token(scopes="pull").secret)
    for _ in range(3):
        assert client.get("/v2", headers=headers).status_code == 200
    refused = client.get("/v2", headers=headers)
    assert _retry_after(refused) <= 2
    assert oci_code(refused) == "TOOMANYREQUESTS"
    assert "reads per second" in refused.json()["errors"][0]["message"]
    clock.tick(2.5)  # past the window and the sliding counter's previous one
    assert client.get("/v2", headers=headers).status_code == 200


def test_tokens_are_limited_apart(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(token_reads_per_second=2)
    freeze()
    first = bearer(make_token(scopes="pull").secret)
    second = bearer(make_token(scopes="pull").secret)
    for _ in range(2):
        assert client.get("/v2", headers=first).status_code == 200
    assert client.get("/v2", headers=first).status_code == 429
    for _ in range(2):
        assert client.get("/v2", headers=second).status_code == 200
    assert client.get("/v2", headers=second).status_code == 429


def test_an_access_token_counts_against_its_api_token(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    """The key is the API token's id: trading it for OCI access tokens buys no more requests."""
    client = make_client(token_reads_per_second=3)
    freeze()
    api = make_token(scopes="pull")
    answer = client.get(
        "/auth/token",
        params={"scope": f"repository:{NAME}:pull"},
        auth=("anyone", api.secret),
    )
    assert answer.status_code == 200, answer.text
    access = bearer(answer.json()["token"])
    assert client.get("/v2", headers=access).status_code == 200
    assert client.get("/v2", headers=bearer(api.secret)).status_code == 200
    assert client.get("/v2", headers=access).status_code == 429


def test_reads_and_writes_are_counted_apart(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(token_reads_per_second=100, token_writes_per_second=2)
    clock = freeze()
    headers = bearer(make_token(scopes="pull,push").secret)
    for _ in range(2):
        assert client.post(f"/v2/{NAME}/blobs/uploads/", headers=headers).status_code == 202
    refused = client.post(f"/v2/{NAME}/blobs/uploads/", headers=headers)
    _retry_after(refused)
    assert "writes per second" in refused.json()["errors"][0]["message"]
    # Reads have their own counter, untouched by the writes.
    assert client.get("/v2", headers=headers).status_code == 200
    clock.tick(2.5)
    assert client.post(f"/v2/{NAME}/blobs/uploads/", headers=headers).status_code == 202


def test_anonymous_callers_are_limited_by_address_with_a_problem_body(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(address_reads_per_second=2, token_reads_per_second=100)
    clock = freeze()
    for _ in range(2):
        assert client.get("/api/v1/models").status_code != 429
    refused = client.get("/api/v1/models")
    _retry_after(refused)
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert (problem["status"], problem["code"]) == (429, "TOOMANYREQUESTS")
    assert "address" in problem["detail"]
    # A caller with a valid token from the same address is counted by its token.
    token = bearer(make_token(scopes="pull").secret)
    assert client.get("/v2", headers=token).status_code == 200
    clock.tick(2.5)
    assert client.get("/api/v1/models").status_code != 429


def test_failed_authentications_block_the_address(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(auth_failures=3, auth_failure_window_seconds=60, auth_block_seconds=30)
    clock = freeze()
    known = bearer(make_token(scopes="pull").secret)
    assert client.get("/v2", headers=known).status_code == 200  # verified, now cached
    unknown = bearer(make_token(scopes="pull").secret)  # valid, never seen by the app yet
    for _ in range(4):  # three allowed, the fourth earns the block
        assert client.get("/v2", headers=BOGUS).status_code == 401
    refused = client.get("/v2", headers=BOGUS)
    assert 1 <= _retry_after(refused) <= 30
    assert oci_code(refused) == "TOOMANYREQUESTS"
    # No credential from the address is looked up while it is blocked, valid ones included
    # (the token endpoint's Basic credentials too) ...
    assert client.get("/v2", headers=unknown).status_code == 429
    assert client.get("/auth/token", auth=("x", "cst_0123456789abcdef_nope")).status_code == 429
    # ... except one already verified (it costs nothing to check); anonymous callers pass.
    assert client.get("/v2", headers=known).status_code == 200
    assert client.get("/v2").status_code == 401
    clock.tick(31)
    assert client.get("/v2", headers=unknown).status_code == 200
    assert client.get("/v2", headers=BOGUS).status_code == 401


def test_failed_web_logins_count_and_are_blocked_like_api_credentials(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(auth_failures=2, auth_failure_window_seconds=60, auth_block_seconds=30)
    clock = freeze()
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    valid = make_token(scopes="pull").secret

    def log_in(token: str) -> Any:
        return client.post(
            "/ui/-/login", data={"token": token}, headers=same_origin, follow_redirects=False
        )

    for _ in range(3):  # two allowed, the third earns the block
        assert log_in("cst_0123456789abcdef_nope").status_code == 401
    blocked = log_in(valid)
    assert blocked.status_code == 429 and "set-cookie" not in blocked.headers
    assert 1 <= _retry_after(blocked) <= 30
    assert "failed to authenticate too often" in blocked.text
    # One counter per address, whichever door the failures came through.
    assert client.get("/v2", headers=BOGUS).status_code == 429
    clock.tick(31)
    assert log_in(valid).status_code == 303


def test_a_flood_of_invalid_tokens_is_refused_with_the_default_settings(
    make_client: AppFactory, freeze: Freeze
) -> None:
    """The issue: 12,000 invalid-token requests in 10 s were all answered (and looked up).

    The clock stands still: on a slow machine the 80 requests could straddle the edge of a
    counting window and the next window would allow one more."""
    client = make_client(LimitSettings())
    freeze()
    statuses = [client.get("/v2", headers=BOGUS).status_code for _ in range(80)]
    assert set(statuses) == {401, 429}
    allowed = LimitSettings().auth_failures
    assert statuses.count(401) == allowed + 1
    assert statuses[allowed + 1 :] == [429] * (80 - allowed - 1)


def test_the_download_budget_counts_bytes(
    make_client: AppFactory, make_token: TokenFactory, freeze: Freeze
) -> None:
    client = make_client(download_bytes=10_000, download_period_seconds=60)
    clock = freeze()
    headers = bearer(make_token(scopes="pull,push").secret)
    digest = Oci(client, headers).push_blob(b"x" * 4000)
    blob = f"/v2/{NAME}/blobs/{digest}"
    assert client.get(blob, headers=headers).status_code == 200  # 4000
    assert client.get(blob, headers=headers).status_code == 200  # 8000
    assert client.head(blob, headers=headers).status_code == 200  # HEAD sends no bytes
    ranged = client.get(blob, headers={**headers, "Range": "bytes=0-1999"})
    assert ranged.status_code == 206  # 10,000: the budget, exactly
    refused = client.get(blob, headers={**headers, "Range": "bytes=0-0"})
    _retry_after(refused)
    assert oci_code(refused) == "TOOMANYREQUESTS"
    assert refused.json()["errors"][0]["detail"]["asked"] == 1
    # Another token has its own budget.
    other = bearer(make_token(scopes="pull").secret)
    assert client.get(blob, headers=other).status_code == 200
    clock.tick(121)  # two periods: the sliding counter forgets the previous one too
    assert client.get(blob, headers=headers).status_code == 200


def test_a_blob_larger_than_the_whole_budget_is_refused(
    make_client: AppFactory, make_token: TokenFactory
) -> None:
    client = make_client(download_bytes=1000, download_period_seconds=60)
    headers = bearer(make_token(scopes="pull,push").secret)
    digest = Oci(client, headers).push_blob(b"y" * 1001)
    refused = client.get(f"/v2/{NAME}/blobs/{digest}", headers=headers)
    _retry_after(refused)
    assert "1001" in refused.json()["errors"][0]["message"]


def test_zero_turns_every_limit_off(
    make_client: AppFactory, make_token: TokenFactory, settings: Settings
) -> None:
    assert not OFF.limits_requests
    client = make_client(OFF)
    headers = bearer(make_token(scopes="pull").secret)
    statuses = {client.get("/v2", headers=h).status_code for h in [headers, BOGUS] * 40}
    assert statuses == {200, 401}
