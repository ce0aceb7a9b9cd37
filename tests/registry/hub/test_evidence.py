"""registry.hub.evidence over rows made in memory: every verdict and every failed check."""

from __future__ import annotations

from datetime import UTC, datetime

from registry.db.models import HubOutput, HubReprint
from registry.hub.evidence import provenance_evidence
from registry.hub.ledger import REGISTRATION, REPRINT, entry_body
from registry.hub.model_status import ModelStatus
from registry.verification.status import SignatureVerdict
from verifier.transparency import leaf_hash

IMAGE = "sha256:" + "1" * 64
MODEL = "sha256:" + "2" * 64
CLAIM = "sha256:" + "3" * 64
COPY = "sha256:" + "4" * 64
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _registration() -> bytes:
    return entry_body(
        REGISTRATION,
        {
            "image": IMAGE,
            "claim": CLAIM,
            "kind": "manifest",
            "model": f"acme/sd@{MODEL}",
            "creator": "alice",
            "creatorKeyId": "k1",
        },
    )


def _reprint_body() -> bytes:
    return entry_body(
        REPRINT,
        {
            "image": COPY,
            "original": IMAGE,
            "originalLogIndex": 0,
            "via": "exact",
            "reprinter": "planet",
            "requestedBy": {"tokenId": "t", "namespace": "acme"},
            "use": "sha256:" + "5" * 64,
        },
    )


def _rows(chain: dict[str, object] | None = None) -> tuple[HubOutput, HubReprint]:
    output = HubOutput(
        image_digest=IMAGE,
        kind="manifest",
        claim_digest=CLAIM,
        model="acme/sd",
        model_digest=MODEL,
        creator="alice",
        chain=chain or {"records": 0},
        log_index=0,
        leaf_hash=leaf_hash(_registration()).hex(),
    )
    reprint = HubReprint(
        image_digest=COPY,
        via="exact",
        reprinter="planet",
        requested_by="token:t",
        created_at=NOW,
        log_index=1,
        leaf_hash=leaf_hash(_reprint_body()).hex(),
    )
    return output, reprint


VERIFIED = ModelStatus(
    True,
    True,
    ["release"],
    "1.0.0",
    [SignatureVerdict("verified", "release", None, "", "sha256:b")],
)
LOGGED = {0: _registration(), 1: _reprint_body()}


def test_verified_records_with_their_signers_and_log_entries() -> None:
    chain = {
        "records": 2,
        "recordList": [
            {"step": 0, "record": "sha256:" + "a" * 64, "node": "edge", "keyId": "n1"},
            {"step": 5, "record": "sha256:" + "b" * 64, "node": "edge", "keyId": "n1"},
        ],
    }
    output, reprint = _rows(chain)
    nodes = provenance_evidence(output, [reprint], VERIFIED, LOGGED)
    assert [n.node for n in nodes] == ["model", "latent", "latent", "output", "reprint"]
    assert [n.verdict.outcome for n in nodes] == ["verified"] * 4 + ["unsigned"]
    assert nodes[0].verdict.signer == "release" and nodes[0].verdict.checked == "now"
    assert [n.step for n in nodes[1:3]] == [0, 5] and nodes[1].verdict.signer == "edge"
    assert "key k1" in nodes[3].verdict.reason
    assert [n.log_index for n in nodes] == [None, None, None, 0, 1]
    assert [len(n.signatures) for n in nodes] == [1, 0, 0, 0, 0]


def test_an_unsigned_a_failed_and_a_vanished_model_version() -> None:
    output, _ = _rows()
    unsigned = provenance_evidence(output, [], ModelStatus(True, False, [], "1.0.0"), LOGGED)
    assert unsigned[0].verdict.outcome == "unsigned" and unsigned[0].signatures == []
    failed = ModelStatus(
        True, False, [], "1.0.0", [SignatureVerdict("failed", "eve", "untrusted-key", "no", "d")]
    )
    model = provenance_evidence(output, [], failed, LOGGED)[0]
    assert (model.verdict.outcome, model.verdict.failed_check) == ("failed", "untrusted-key")
    assert model.signatures[0].reason == "no"
    gone = provenance_evidence(output, [], ModelStatus(False, False), LOGGED)[0]
    assert gone.verdict.failed_check == "model-not-registered"


def test_records_that_disagree_with_their_log_entries_fail_the_binding() -> None:
    output, reprint = _rows()
    missing = provenance_evidence(output, [reprint], VERIFIED, {})
    assert [n.verdict.failed_check for n in missing[-2:]] == ["log-entry-missing"] * 2
    output.leaf_hash = "00" * 32
    reprint.reprinter = "someone else"
    nodes = provenance_evidence(output, [reprint], VERIFIED, LOGGED)
    assert nodes[-2].verdict.failed_check == "leaf-hash-mismatch"
    assert nodes[-1].verdict.failed_check == "log-entry-mismatch"
    assert "reprinter" in nodes[-1].verdict.reason and nodes[-1].verdict.checked == "now"
    not_json = {0: b"\xff", 1: _reprint_body()}
    output.leaf_hash = leaf_hash(b"\xff").hex()
    assert provenance_evidence(output, [], VERIFIED, not_json)[-1].verdict.failed_check == (
        "log-entry-mismatch"
    )
