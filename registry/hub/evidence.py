"""The evidence behind each node of an output's provenance graph (pure: no I/O).

What ``GET /api/v1/outputs/{digest}`` answers as ``evidence``, and the output page
shows beside each node:

* **model version**: every signature's verdict under today's trust policy (the
  registry's stored verdicts, re-verified when the policy changed), ``unsigned``
  without a signature, ``failed`` with the failed check otherwise;
* **latent records**: the node whose signature verified when the hub recorded the
  chain (the hub records no chain with a failing record). Records are not logged
  one by one: the logged claim binds them through the manifest's final latent;
* **output**: the creator's signed claim, checked at registration, and its log
  entry. The row must agree with the entry it was logged as (the leaf hash over the
  logged bytes, and the image, claim, model and creator those bytes name): a row
  edited after the fact shows the field that no longer matches;
* **reprints**: asked with an API token, not signed (``unsigned``; the hub signs the
  attribution statement it hands back), and held to their log entries the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from registry.db.models import HubOutput, HubReprint
from registry.hub.ledger import REGISTRATION, REPRINT
from registry.hub.model_status import ModelStatus
from registry.hub.schemas import NodeEvidence, SignatureEvidence
from verifier.transparency import leaf_hash

__all__ = ["LEAF_HASH_MISMATCH", "LOG_ENTRY_MISMATCH", "LOG_ENTRY_MISSING", "provenance_evidence"]

#: Reason codes of the log-binding check.
LOG_ENTRY_MISSING = "log-entry-missing"
LEAF_HASH_MISMATCH = "leaf-hash-mismatch"
LOG_ENTRY_MISMATCH = "log-entry-mismatch"


def provenance_evidence(
    output: HubOutput,
    reprints: Sequence[HubReprint],
    model: ModelStatus,
    logged: Mapping[int, bytes],
) -> list[NodeEvidence]:
    """The graph's nodes with their evidence; ``logged`` maps log index -> logged bytes."""
    nodes = [_model(output, model)]
    nodes += _latents(output)
    nodes.append(_output(output, logged))
    nodes += [_reprint(output, r, logged) for r in reprints]
    return nodes


def _node(
    node: str,
    subject: str,
    verdict: SignatureEvidence,
    signatures: list[SignatureEvidence] | None = None,
    **extra: Any,
) -> NodeEvidence:
    return NodeEvidence(node, subject, verdict, signatures or [], **extra)


def _model(output: HubOutput, status: ModelStatus) -> NodeEvidence:
    signatures = [
        SignatureEvidence(
            v.outcome,
            v.signer,
            None if v.outcome == "verified" else (v.failed_check or "signature"),
            v.reason,
            "now",
        )
        for v in status.verdicts
    ]
    if not status.registered:
        verdict = SignatureEvidence(
            "failed",
            None,
            "model-not-registered",
            f"{output.model}@{output.model_digest} is no longer a version of this registry",
            "now",
        )
    elif status.verified:
        verdict = SignatureEvidence("verified", ", ".join(status.signers), None, "", "now")
    elif signatures:
        first = signatures[0]
        verdict = SignatureEvidence("failed", first.signer, first.failed_check, first.reason, "now")
    else:
        verdict = SignatureEvidence("unsigned", None, None, "the version has no signature", "now")
    return _node("model", output.model_digest, verdict, signatures)


def _latents(output: HubOutput) -> list[NodeEvidence]:
    nodes = []
    for record in output.chain.get("recordList") or []:
        verdict = SignatureEvidence(
            "verified", str(record.get("node")), None, f"node key {record.get('keyId')}"
        )
        nodes.append(_node("latent", str(record.get("record")), verdict, step=record.get("step")))
    return nodes


def _output(output: HubOutput, logged: Mapping[int, bytes]) -> NodeEvidence:
    body = logged.get(output.log_index)
    key_id = _field(body, "creatorKeyId")
    verdict = SignatureEvidence(
        "verified",
        output.creator,
        None,
        f"{output.kind} claim {output.claim_digest}" + (f", key {key_id}" if key_id else ""),
    )
    expected = {
        "type": REGISTRATION,
        "image": output.image_digest,
        "claim": output.claim_digest,
        "model": f"{output.model}@{output.model_digest}",
        "creator": output.creator,
    }
    failure = _binding(output.log_index, output.leaf_hash, body, expected)
    if failure is not None:
        verdict = SignatureEvidence("failed", output.creator, *failure, "now")
    return _node("output", output.image_digest, verdict, log_index=output.log_index)


def _reprint(output: HubOutput, reprint: HubReprint, logged: Mapping[int, bytes]) -> NodeEvidence:
    verdict = SignatureEvidence(
        "unsigned",
        reprint.requested_by,
        None,
        "asked with an API token, not signed; the hub signed the attribution it returned",
    )
    expected = {
        "type": REPRINT,
        "image": reprint.image_digest,
        "original": output.image_digest,
        "originalLogIndex": output.log_index,
        "via": reprint.via,
        "reprinter": reprint.reprinter,
    }
    body = logged.get(reprint.log_index)
    failure = _binding(reprint.log_index, reprint.leaf_hash, body, expected)
    if failure is not None:
        verdict = SignatureEvidence("failed", reprint.requested_by, *failure, "now")
    return _node("reprint", reprint.image_digest, verdict, log_index=reprint.log_index)


def _field(body: bytes | None, name: str) -> Any:
    document = _document(body)
    return None if document is None else document.get(name)


def _document(body: bytes | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _binding(
    index: int, recorded_leaf: str, body: bytes | None, expected: Mapping[str, Any]
) -> tuple[str, str] | None:
    """``(check, reason)`` if the record disagrees with the entry it was logged as."""
    if body is None:
        return LOG_ENTRY_MISSING, f"log entry {index} is not in the log"
    if leaf_hash(body).hex() != recorded_leaf.lower():
        return LEAF_HASH_MISMATCH, (
            f"the record's leaf hash {recorded_leaf} is not the hash of log entry {index}"
        )
    document = _document(body) or {}
    for name, value in expected.items():
        if document.get(name) != value:
            return LOG_ENTRY_MISMATCH, (
                f"the record's {name} is {value!r}; log entry {index} says {document.get(name)!r}"
            )
    return None
