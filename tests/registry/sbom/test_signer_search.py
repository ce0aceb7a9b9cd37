"""``GET /api/v1/versions?signer=...``: versions found by who verifiably signed them, on both
engines: key ids (whole, prefix, any case, ``key:``), identities (e-mail without regard to
case, URIs exactly), trust-policy names; never a failed signature, never another namespace's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from registry.errors import InvalidInput
from registry.settings import Settings
from registry.verification.signer_search import parse_signer
from tests.registry.sbom.signer_seed import (
    EMAIL,
    ISSUER,
    WORKFLOW,
    SignerSeed,
    add_identities,
    make_policy_files,
    policy_client,
    seed_signers,
)
from tests.support.policy_files import PolicyFiles
from tests.support.registry_helpers import bearer


@pytest.fixture
def policy(tmp_path: Path) -> PolicyFiles:
    return make_policy_files(tmp_path / "policies")


@pytest.fixture
def client(settings: Settings, policy: PolicyFiles) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with policy_client(settings, policy) as test_client:
        yield test_client


@pytest.fixture
def seeded(
    client: TestClient,  # type: ignore[type-arg]
    database_url: str,
    policy: PolicyFiles,
    tmp_path: Path,
) -> SignerSeed:
    return seed_signers(client, database_url, policy, tmp_path)


def _found(client: Any, token: str | None, **params: str) -> list[tuple[str, str, str | None]]:
    headers = bearer(token) if token else {}
    response = client.get("/api/v1/versions", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["versions"])
    return [(v["model"], v["version"], v["sbom_digest"]) for v in body["versions"]]


def _versions(client: Any, token: str | None, **params: str) -> list[str]:
    return [f"{m}:{v}" for m, v, _ in _found(client, token, **params)]


def test_a_key_id_finds_the_versions_that_key_verifiably_signed(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    alice, bob = seeded.key_ids["alice"], seeded.key_ids["bob"]
    for term in (alice, alice[:16], alice[:8], alice.upper(), f"key:{alice}", f"  {alice}  "):
        assert _versions(client, seeded.admin, signer=term) == ["acme/model:1.0.0"], term
    assert _versions(client, seeded.admin, signer=bob[:16]) == ["acme/model:2.0.0"]
    # Seven digits are too few to be a key id (and no identity or name is spelt so).
    assert _versions(client, seeded.admin, signer=alice[:7]) == []
    # A version without an SBOM is found by its signer; its SBOM digest is null.
    [(_, _, with_sbom)] = _found(client, seeded.admin, signer=alice)
    [(_, _, without)] = _found(client, seeded.admin, signer=bob)
    assert with_sbom is not None and with_sbom.startswith("sha256:") and without is None


def test_a_failed_signature_never_matches(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    mallory = seeded.key_ids["mallory"]  # signed 1.0.0, but no trust rule lists the key
    for term in (mallory, mallory[:16], "mallory"):
        assert _versions(client, seeded.admin, signer=term) == [], term
    assert _versions(client, seeded.admin, signer=seeded.key_ids["carol"]) == []


def test_trust_policy_names_match_exactly(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    assert _versions(client, seeded.admin, signer="alice") == ["acme/model:1.0.0"]
    assert _versions(client, seeded.admin, signer="bob") == ["acme/model:2.0.0"]
    for near in ("Bob", "bo", "bob_", "b%", "%", "_ob", "bob%"):
        assert _versions(client, seeded.admin, signer=near) == [], near


def test_identities_email_without_case_uri_exactly(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
    database_url: str,
) -> None:
    add_identities(
        database_url,
        seeded.digests["2.0.0"],
        [f"subject:https://accounts.example|{EMAIL}", f"subject:{ISSUER}|{WORKFLOW}"],
    )
    for term in (EMAIL, EMAIL.lower(), EMAIL.upper()):
        assert _versions(client, seeded.admin, signer=term) == ["acme/model:2.0.0"], term
    assert _versions(client, seeded.admin, signer=WORKFLOW) == ["acme/model:2.0.0"]
    near_misses = (
        WORKFLOW.lower(),  # a URI is compared exactly
        WORKFLOW[:-1],
        "Example.COM",
        "%@Example.COM",
        "Bob_Release@Example.COM",  # _ is a character, not a wildcard
        "%",
        "_",
        "https://accounts.example",  # the issuer is not the identity
        f"https://accounts.example|{EMAIL}",
        ISSUER,
    )
    for term in near_misses:
        assert _versions(client, seeded.admin, signer=term) == [], term


def test_identities_the_json_text_escapes(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
    database_url: str,
) -> None:
    """Non-ASCII, quotes and backslashes are escaped in the stored JSON text: such terms skip
    the substring test and are compared on the parsed principals alone."""
    subject = 'CN=Release \\"Team\\",O=Acme'  # RFC 4514 escapes the quotes
    add_identities(
        database_url,
        seeded.digests["1.0.0"],
        ["subject:https://id.example|José@Example.com", f"subject:CN=CA|{subject}"],
    )
    for term in ("José@Example.com", "josé@example.com", subject):
        assert _versions(client, seeded.admin, signer=term) == ["acme/model:1.0.0"], term
    for term in ("Jose@Example.com", subject.replace("\\", ""), "CN=Release"):
        assert _versions(client, seeded.admin, signer=term) == [], term


def test_signer_with_sbom_facts_and_namespace(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    token = seeded.admin
    assert _versions(client, token, signer="alice", license="Apache-2.0") == ["acme/model:1.0.0"]
    assert _versions(client, token, signer="bob", license="Apache-2.0") == []
    assert _versions(client, token, signer="alice", namespace="acme") == ["acme/model:1.0.0"]
    assert _versions(client, token, signer="alice", namespace="other") == []
    assert _versions(client, token, license="Apache-2.0", namespace="acme") == ["acme/model:1.0.0"]
    # Still the caller's rights: anonymous callers see no private namespace.
    assert _versions(client, None, signer="alice") == []


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"signer": "   "}, 400),
        ({"signer": "x" * 513}, 400),
        ({"namespace": "acme"}, 400),  # a namespace alone is no search
        ({"signer": "alice", "namespace": "Not A Namespace"}, 400),
        ({"signer": "alice", "namespace": "x" * 129}, 400),
    ],
)
def test_bad_signer_searches_are_problems(
    client: TestClient,  # type: ignore[type-arg]
    make_token: Any,
    params: dict[str, str],
    status: int,
) -> None:
    headers = bearer(make_token(scopes="admin").secret)
    response = client.get("/api/v1/versions", params=params, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_openapi_document_describes_signer(client: TestClient) -> None:  # type: ignore[type-arg]
    document = client.get("/api/v1/openapi/openapi.json").json()
    parameters = document["paths"]["/api/v1/versions"]["get"]["parameters"]
    signer = next(p for p in parameters if p["name"] == "signer")
    assert "key id" in signer["description"] and "e-mail" in signer["description"]
    assert signer["schema"]["maxLength"] == 512
    assert any(p["name"] == "namespace" for p in parameters)


@pytest.mark.parametrize(
    ("term", "principal", "prefix", "email"),
    [
        ("ab" * 32, "key:" + "ab" * 32, False, False),
        ("key:ABCDEF12", "key:abcdef12", True, False),
        ("ML_DSA_65:" + "0f" * 32, "key:ML_DSA_65:" + "0f" * 32, False, False),
        ("abcdef1", None, False, False),
        ("ab" * 33, None, False, False),
        ("a@b.example", None, False, True),
        ("https://x.example/a@refs/heads/main", None, False, False),
        ("%_@%", None, False, True),
    ],
)
def test_parse_signer(term: str, principal: str | None, prefix: bool, email: bool) -> None:
    parsed = parse_signer(term)
    assert (parsed.key_principal, parsed.key_is_prefix, parsed.email) == (principal, prefix, email)
    assert parsed.text == term


def test_parse_signer_refuses_empty_and_long() -> None:
    for bad in ("", "  ", "x" * 513):
        with pytest.raises(InvalidInput):
            parse_signer(bad)
