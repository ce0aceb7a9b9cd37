"""Receipts as the hub hands them out (``Receipt.to_json``), checked offline; and ``log-key``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.cli import cli
from registry.tlog.records import Receipt, SignedCheckpoint
from registry.tlog.signer import LogSigner
from registry.tlog.tree import Frontier, hash_leaf, hash_ranges, inclusion_ranges
from verifier.transparency import (
    CheckpointSignatureInvalid,
    InclusionProofInvalid,
    ReceiptInvalid,
    VerifierKey,
    verify_receipt,
)

BODIES = [f'{{"image":"sha256:{i:064x}"}}'.encode() for i in range(11)]


@pytest.fixture
def signer() -> LogSigner:
    return LogSigner("hub.example/log", Ed25519PrivateKey.generate())


def _receipt(signer: LogSigner, index: int) -> dict:
    frontier, stored = Frontier(), {}
    for level, i, value in frontier.append(hash_leaf(b) for b in BODIES):
        stored[(level, i)] = value
    size, root = frontier.size, frontier.root()
    checkpoint = SignedCheckpoint(size, root, signer.checkpoint(size, root))
    hashes = tuple(hash_ranges(inclusion_ranges(index, size), stored))
    return Receipt(index, hash_leaf(BODIES[index]), checkpoint, hashes).to_json()


def test_a_receipt_verifies_against_the_entry(signer):
    key = VerifierKey.parse(signer.verifier_key)
    for index in range(len(BODIES)):
        verified = verify_receipt(_receipt(signer, index), key, entry=BODIES[index])
        assert verified.log_index == index and verified.checkpoint.tree_size == 11


def _mutations() -> dict[str, tuple[object, type[Exception]]]:
    return {
        "other entry": ("entry", ReceiptInvalid),
        "tree size": (("treeSize", 12), ReceiptInvalid),
        "root": (("rootHash", "A" * 43 + "="), ReceiptInvalid),
        "root not base64": (("rootHash", "!"), ReceiptInvalid),
        "index": (("logIndex", 4), InclusionProofInvalid),
        "negative index": (("logIndex", -1), ReceiptInvalid),
        "boolean index": (("logIndex", True), ReceiptInvalid),
        "leaf hash not hex": (("leafHash", "zz" * 32), ReceiptInvalid),
        "proof hash flipped": (("inclusionProof", ["00" * 32]), InclusionProofInvalid),
        "proof not a list": (("inclusionProof", "00"), ReceiptInvalid),
        "no checkpoint": (("checkpoint", None), ReceiptInvalid),
        "forged checkpoint": ("forged", CheckpointSignatureInvalid),
    }


@pytest.mark.parametrize("case", list(_mutations()))
def test_every_altered_receipt_is_refused(signer, case):
    receipt = copy.deepcopy(_receipt(signer, 3))
    mutation, error = _mutations()[case]
    entry = BODIES[3]
    if mutation == "entry":
        entry = BODIES[4]
    elif mutation == "forged":
        other = LogSigner("hub.example/log", Ed25519PrivateKey.generate())
        receipt["checkpoint"] = other.checkpoint(11, bytes(32))
    else:
        field, value = mutation  # type: ignore[misc]
        if field == "inclusionProof" and isinstance(value, list):
            value = value + receipt["inclusionProof"][1:]
        receipt[field] = value
    with pytest.raises(error):
        verify_receipt(receipt, VerifierKey.parse(signer.verifier_key), entry=entry)


def test_log_key_command_prints_a_stable_verifier_key(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CUSTODY_TLOG_ORIGIN", "hub.example/log")
    monkeypatch.delenv("CUSTODY_TLOG_KEY", raising=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["log-key", "--data-dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    key = VerifierKey.parse(first.output)
    assert key.name == "hub.example/log"
    assert runner.invoke(cli, ["log-key", "--data-dir", str(tmp_path)]).output == first.output
    monkeypatch.setenv("CUSTODY_TLOG_ORIGIN", "another/log")
    refused = runner.invoke(cli, ["log-key", "--data-dir", str(tmp_path)])
    assert refused.exit_code == 1 and "belongs to log" in refused.output
    assert "Traceback" not in refused.output
