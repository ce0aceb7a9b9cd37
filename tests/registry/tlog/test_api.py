"""``/api/v1/log/`` over HTTP on both engines: anonymous reads, interop, bad input."""

from __future__ import annotations

import base64
import random

import pytest

from tests.registry.tlog import reference
from tests.registry.tlog.conftest import append_via_app
from verifier.transparency import (
    VerifierKey,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)

PROBLEM = "application/problem+json"


def _hashes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_proofs_for_every_tree_size_1_to_100_verify_independently(log_client):
    """One batch per entry, so every size 1..100 was a signed tree; proofs checked by the
    RFC's recursive definitions, sigstore-python's chaining and verifier.transparency."""
    bodies = [f'{{"output":"sha256:{i:064x}"}}'.encode() for i in range(100)]
    append_via_app(log_client, bodies, one_by_one=True)
    key = VerifierKey.parse(log_client.get("/api/v1/log/key").text)
    checkpoint = verify_checkpoint(log_client.get("/api/v1/log/checkpoint").text, key)
    assert checkpoint.tree_size == 100

    entries = log_client.get("/api/v1/log/entries", params={"start": 0, "end": 100}).json()
    served = [base64.b64decode(e["body"]) for e in entries["entries"]]
    assert served == bodies
    leaves = [reference.leaf(b) for b in served]
    assert [bytes.fromhex(e["leafHash"]) for e in entries["entries"]] == leaves
    assert reference.mth(leaves) == checkpoint.root_hash

    # Every size, one inclusion and one consistency proof each (the pure tests in
    # test_merkle.py cover every index and every older size exhaustively).
    rng = random.Random(8)
    for n in range(1, 101):
        root = reference.mth(leaves[:n])
        m = n - 1 if n % 2 else rng.randrange(n)
        got = log_client.get(
            "/api/v1/log/proof/inclusion", params={"index": m, "tree_size": n}
        ).json()
        hashes = _hashes(got["inclusionProof"])
        assert hashes == reference.path(m, leaves[:n])
        assert reference.sigstore_root(m, n, leaves[m], hashes) == root
        verify_inclusion(m, n, leaves[m], hashes, root)
        assert base64.b64decode(got["rootHash"]) == root
        first = rng.randint(1, n)
        got = log_client.get(
            "/api/v1/log/proof/consistency", params={"first": first, "second": n}
        ).json()
        hashes = _hashes(got["consistencyProof"])
        assert hashes == reference.proof(first, leaves[:n])
        verify_consistency(first, n, hashes, reference.mth(leaves[:first]), root)


def test_reads_are_anonymous_and_find_entries_by_leaf_hash(log_client):
    append_via_app(log_client, [b"alpha", b"beta", b"alpha"])
    response = log_client.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    leaf = reference.leaf(b"alpha").hex()
    got = log_client.get("/api/v1/log/proof/inclusion", params={"leaf_hash": leaf}).json()
    assert got["logIndex"] == 0 and got["treeSize"] == 3  # the first occurrence
    upper = log_client.get(
        "/api/v1/log/proof/inclusion", params={"leaf_hash": leaf.upper(), "tree_size": 1}
    ).json()
    assert upper["logIndex"] == 0 and upper["inclusionProof"] == []


def test_an_empty_log_serves_the_empty_tree(log_client):
    key = VerifierKey.parse(log_client.get("/api/v1/log/key").text)
    checkpoint = verify_checkpoint(log_client.get("/api/v1/log/checkpoint").text, key)
    assert (checkpoint.tree_size, checkpoint.root_hash) == (0, reference.mth([]))
    response = log_client.get("/api/v1/log/proof/consistency", params={"first": 0, "second": 0})
    assert response.status_code == 400


BAD_REQUESTS = [
    # (path, params, status, code)
    ("consistency", {"first": 0, "second": 3}, 400, "TREE_SIZE_INVALID"),
    ("consistency", {"first": 3, "second": 2}, 400, "TREE_SIZE_INVALID"),
    ("consistency", {"first": 1, "second": 4}, 400, "TREE_SIZE_INVALID"),
    ("consistency", {"first": 1, "second": 2**62}, 400, "TREE_SIZE_INVALID"),
    ("consistency", {"first": 1, "second": 2**64}, 400, None),
    ("consistency", {"first": -1, "second": 2}, 400, None),
    ("consistency", {"first": "one", "second": 2}, 400, None),
    ("consistency", {"first": 1}, 400, None),
    ("inclusion", {}, 400, "LOG_REQUEST_INVALID"),
    ("inclusion", {"index": 0, "leaf_hash": "00" * 32}, 400, "LOG_REQUEST_INVALID"),
    ("inclusion", {"index": 3}, 400, "LOG_INDEX_INVALID"),
    ("inclusion", {"index": 2, "tree_size": 2}, 400, "LOG_INDEX_INVALID"),
    ("inclusion", {"index": 0, "tree_size": 0}, 400, "TREE_SIZE_INVALID"),
    ("inclusion", {"index": 0, "tree_size": 4}, 400, "TREE_SIZE_INVALID"),
    ("inclusion", {"index": -5}, 400, None),
    ("inclusion", {"leaf_hash": "zz" * 32}, 400, "LOG_REQUEST_INVALID"),
    ("inclusion", {"leaf_hash": "00" * 31}, 400, "LOG_REQUEST_INVALID"),
    ("inclusion", {"leaf_hash": "00" * 40}, 400, None),
    ("inclusion", {"leaf_hash": "00" * 32}, 404, "LEAF_UNKNOWN"),
    ("entries", {"start": 1, "end": 1}, 400, "LOG_RANGE_INVALID"),
    ("entries", {"start": 2, "end": 1}, 400, "LOG_RANGE_INVALID"),
    ("entries", {"start": 0, "end": 4}, 400, "LOG_RANGE_INVALID"),
    ("entries", {"start": 0, "end": 1001}, 400, "LOG_RANGE_INVALID"),
    ("entries", {"start": -1, "end": 1}, 400, None),
]


def test_bad_requests_get_problem_details(log_client):
    append_via_app(log_client, [b"one", b"two", b"three"])
    beyond = reference.leaf(b"three").hex()
    cases = [
        *BAD_REQUESTS,
        ("inclusion", {"leaf_hash": beyond, "tree_size": 2}, 404, "LEAF_UNKNOWN"),
    ]
    for path, params, status, code in cases:
        response = log_client.get(
            f"/api/v1/log/proof/{path}" if path != "entries" else "/api/v1/log/entries",
            params=params,
        )
        assert response.status_code == status, (path, params, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), (path, params)
        body = response.json()
        assert body["status"] == status and "Traceback" not in response.text
        if code is not None:
            assert body["code"] == code, (path, params, body)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_log_cannot_be_written_over_http(log_client, method):
    response = getattr(log_client, method)("/api/v1/log/entries")
    assert response.status_code == 405
