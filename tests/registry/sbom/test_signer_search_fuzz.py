"""Hypothesis against the new query parameters (``signer`` and ``namespace`` of
``GET /api/v1/versions``, ``before`` of ``GET /api/v1/audit``) on both engines: odd Unicode,
NUL, LIKE wildcards, quotes, very long strings. The answer is a 4xx problem or a 200 whose
versions are exactly what a plain-Python model of the matching rules expects: never a 500,
never a wildcard that matches everything. Derandomized; a longer, random hunt:
``CUSTODY_FUZZ_EXAMPLES=1000``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from registry.settings import Settings
from tests.registry.sbom.signer_seed import (
    SignerSeed,
    make_policy_files,
    policy_client,
    seed_signers,
)
from tests.support.policy_files import PolicyFiles
from tests.support.registry_helpers import bearer

FUZZ = settings(
    max_examples=int(os.environ.get("CUSTODY_FUZZ_EXAMPLES", "120")),
    deadline=None,
    derandomize="CUSTODY_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ODD = [
    "%", "_", "%%", "%_%", "\\", "\\%", "\\_", "key:%", "key:________", "%@%", "_@_",
    "ML_DSA_65:%", "*", "'", '"', "' OR '1'='1", "alice' --", "\x00", "a\x00b", "\u202e",
    "\ufeff", "\u200b", "🔑", "İ", "ß", "ǅ", "\u0301", "alice\u0000", " alice ",
    "\uff41\uff4c\uff49\uff43\uff45",  # alice in full width
    "\talice\n", "ALICE", "bob%", "b_b", "|", "subject:|", "subject:%|%", "key:", "\uffff",
]  # fmt: skip
TRUSTED = {"alice": "1.0.0", "bob": "2.0.0"}
_KEY = re.compile(r"(?:key:)?([0-9a-fA-F]{8,64})\Z")


def _text() -> st.SearchStrategy[str]:
    plain = st.text(st.characters(codec="utf-8"), max_size=40)
    odd = st.sampled_from(ODD)
    return st.one_of(
        plain,
        odd,
        st.builds(lambda a, b, c: a + b + c, plain, odd, plain),
        # Repeated: at most 5,000 characters, as the client will not send a longer URL
        # (percent-encoded, a character takes up to 12); plain ASCII up to 20,000.
        st.builds(lambda piece, n: (piece * n)[:5000], odd, st.integers(1, 3000)),
        st.integers(500, 20000).map(lambda n: "a" * n),
    )


def _expected(term: str, seed: SignerSeed) -> set[str] | None:
    """The versions the matching rules find for ``term``; ``None`` when it must be refused."""
    if "\x00" in term or len(term) > 512 or not term.strip():
        return None
    text = term.strip()
    found = {TRUSTED[text]} if text in TRUSTED else set()
    key = _KEY.match(text)
    if key is not None:
        digits = key.group(1).lower()
        for name, version in TRUSTED.items():
            full = seed.key_ids[name]
            if full == digits or (len(digits) < 64 and full.startswith(digits)):
                found.add(version)
    return found


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


def _problem(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == response.status_code


def test_signer_never_500s_and_matches_only_what_it_names(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    headers = bearer(seeded.admin)
    alice, bob = seeded.key_ids["alice"], seeded.key_ids["bob"]
    known = st.sampled_from(
        [alice, alice[:8], alice[:7], alice.upper()[:20], f"key:{bob[:12]}", bob + "0", "alice"]
    )

    @FUZZ
    @given(term=_text() | known | st.builds(lambda k, o: k + o, known, st.sampled_from(ODD)))
    def check(term: str) -> None:
        response = client.get("/api/v1/versions", params={"signer": term}, headers=headers)
        expected = _expected(term, seeded)
        if expected is None:
            _problem(response)
            return
        assert response.status_code == 200, (term, response.text[:300])
        body = response.json()
        assert {v["version"] for v in body["versions"]} == expected, term
        assert all(v["model"] == "acme/model" for v in body["versions"])

    check()


def test_namespace_never_500s(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    headers = bearer(seeded.admin)

    @FUZZ
    @given(namespace=_text() | st.sampled_from(["acme", "ACME", "acme%", "ac_e", "-", "root"]))
    def check(namespace: str) -> None:
        response = client.get(
            "/api/v1/versions", params={"signer": "alice", "namespace": namespace}, headers=headers
        )
        if response.status_code != 200:
            _problem(response)
            return
        found = {v["version"] for v in response.json()["versions"]}
        # An empty value is no filter (as an empty form field is).
        assert found == ({"1.0.0"} if namespace in ("acme", "") else set()), namespace

    check()


def test_audit_before_never_500s(
    client: TestClient,  # type: ignore[type-arg]
    seeded: SignerSeed,
) -> None:
    headers = bearer(seeded.admin)
    numbers = st.integers(-(2**70), 2**70).map(str)

    @FUZZ
    @given(before=numbers | _text() | st.sampled_from(["1e3", "0x10", "+5", " 5", "٣", "5\x00"]))
    def check(before: str) -> None:
        response = client.get(
            "/api/v1/audit", params={"namespace": "acme", "before": before}, headers=headers
        )
        if response.status_code != 200:
            _problem(response)
            return
        page = response.json()
        try:
            value = int(Decimal(before))  # the parameter parser accepts 1e0 (and so, 1) too
        except InvalidOperation:
            # Litestar reads "" and "null" as no value at all: the page without a cursor.
            assert (
                page
                == client.get("/api/v1/audit", params={"namespace": "acme"}, headers=headers).json()
            ), before
            return
        assert 1 <= value <= 2**63 - 1
        assert all(e["id"] < value for e in page["events"])

    check()
