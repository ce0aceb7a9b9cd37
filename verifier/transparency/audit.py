"""Auditing a log over time: what ``custody log verify`` does, as plain functions.

Rules, in order (each failure raises the error naming its check):

1. The latest checkpoint must carry a valid signature by the pinned log key and
   name that log as its origin.
2. Against the last checkpoint this auditor verified (its state file): a smaller
   tree is a rollback, the same size with another root is a fork, a larger tree
   must come with a consistency proof that verifies.
3. A sample of entries (always the first and last, then random ones, preferring
   those new since the last audit) is fetched; each leaf hash is recomputed from
   the entry's bytes and its inclusion proof checked against the checkpoint root.
4. Only then is the new checkpoint written as the state (atomically).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from verifier.clients.log import LogClient
from verifier.transparency._checkpoint import Checkpoint, verify_checkpoint
from verifier.transparency._merkle import leaf_hash, verify_consistency, verify_inclusion
from verifier.transparency.errors import (
    AuditStateInvalid,
    InclusionProofInvalid,
    LogRollback,
)
from verifier.transparency.note import VerifierKey

__all__ = ["AuditReport", "audit_log", "default_state_path", "load_state", "save_state"]


@dataclass(frozen=True, slots=True)
class AuditReport:
    origin: str
    tree_size: int
    root_hash: bytes
    previous_size: int | None
    inclusion_checked: tuple[int, ...]
    checkpoint: Checkpoint


def default_state_path(key: VerifierKey) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "custody" / "tlog" / f"{key.key_id:08x}.json"


def load_state(path: Path, key: VerifierKey) -> Checkpoint | None:
    """The last checkpoint this auditor verified (re-verified: the file is not trusted)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AuditStateInvalid(f"cannot read the audit state {str(path)!r}: {exc}") from None
    note = document.get("checkpoint") if isinstance(document, dict) else None
    if not isinstance(note, str):
        raise AuditStateInvalid(f"the audit state {str(path)!r} holds no checkpoint")
    return verify_checkpoint(note, key)


def save_state(path: Path, checkpoint: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "origin": checkpoint.origin,
        "treeSize": checkpoint.tree_size,
        "rootHash": base64.b64encode(checkpoint.root_hash).decode(),
        "checkpoint": checkpoint.note,
    }
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".audit-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_against(previous: Checkpoint, current: Checkpoint, client: LogClient) -> None:
    if current.tree_size < previous.tree_size:
        raise LogRollback(
            f"the log shrank from {previous.tree_size} to {current.tree_size} entries"
        )
    if current.tree_size == previous.tree_size:
        if not hmac.compare_digest(current.root_hash, previous.root_hash):
            raise LogRollback(f"two different roots for tree size {current.tree_size}: a fork")
        return
    proof = (
        client.consistency_proof(previous.tree_size, current.tree_size)
        if previous.tree_size
        else []
    )
    verify_consistency(
        previous.tree_size, current.tree_size, proof, previous.root_hash, current.root_hash
    )


def _sample(size: int, since: int, count: int, rng: random.Random) -> list[int]:
    if size == 0:
        return []
    chosen = {0, size - 1}
    fresh = range(since, size) if since < size else range(size)
    while len(chosen) < min(count, size):
        pool = fresh if rng.random() < 0.75 else range(size)
        chosen.add(rng.choice(pool))
    return sorted(chosen)


def audit_log(
    client: LogClient,
    key: VerifierKey,
    previous: Checkpoint | None,
    *,
    samples: int = 16,
    rng: random.Random | None = None,
) -> AuditReport:
    """One audit round (rules in the module docstring); raises on the first failure.

    The sample comes from the system's CSPRNG unless ``rng`` is given (tests), so
    the log cannot predict which entries an auditor will check.
    """
    current = verify_checkpoint(client.checkpoint(), key)
    if previous is not None:
        _check_against(previous, current, client)
    since = previous.tree_size if previous is not None else 0
    checked = _sample(current.tree_size, since, samples, rng or random.SystemRandom())
    for index in checked:
        served = client.entries(index, index + 1)
        if len(served) != 1 or served[0].index != index:
            raise InclusionProofInvalid(f"the log did not serve entry {index}")
        entry = served[0]
        leaf = leaf_hash(entry.body)
        if not hmac.compare_digest(leaf, entry.leaf_hash):
            raise InclusionProofInvalid(f"entry {index}: served leaf hash is not its body's hash")
        served_leaf, proof = client.inclusion_proof(index, current.tree_size)
        if not hmac.compare_digest(served_leaf, leaf):
            raise InclusionProofInvalid(f"entry {index}: the proof is for another leaf")
        verify_inclusion(index, current.tree_size, leaf, proof, current.root_hash)
    return AuditReport(
        origin=current.origin,
        tree_size=current.tree_size,
        root_hash=current.root_hash,
        previous_size=None if previous is None else previous.tree_size,
        inclusion_checked=tuple(checked),
        checkpoint=current,
    )
