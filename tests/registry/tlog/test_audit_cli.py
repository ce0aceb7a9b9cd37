"""``custody log verify`` against a live ``custody serve`` on both engines (one test each,
so one server start each).

Entries are appended by a second writer on the same database (as another
replica would), the auditor runs the real CLI, and a lying hub is simulated by
wrapping the real client so that one answer is altered.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.cli import cli
from registry.tlog import load_or_create_signer
from registry.tlog.signer import LogSigner
from tests.registry.tlog.conftest import open_log
from tests.support.live import free_port, running_server
from verifier.clients.log import FetchedEntry, LogClient
from verifier.transparency import (
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    VerifierKey,
    verify_checkpoint,
)
from verifier.transparency.audit import audit_log


@pytest.fixture
def hub(tmp_path: Path, database_url: str) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url) as url:
        yield url, data_dir / "keys" / "tlog.key"


def _append(database_url: str, key_path: Path, bodies: list[bytes]) -> None:
    async def work() -> None:
        async with open_log(database_url, key_path, origin=None) as tlog:
            await asyncio.gather(*(tlog.append(b) for b in bodies))

    asyncio.run(work())


def _verify(url: str, key: str, state: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["log", "verify", "--hub", url, "--key", key, "--state", str(state), *extra]
    )
    return result.exit_code, result.output


def test_audits_over_time_and_refuses_rollback_fork_and_foreign_keys(hub, database_url, tmp_path):
    url, key_path = hub
    vkey = httpx.get(f"{url}/api/v1/log/key").text.strip()
    state = tmp_path / "audit.json"

    code, out = _verify(url, vkey, state)  # the empty log
    assert code == 0 and "size 0" in out and "first audit" in out, out
    _append(database_url, key_path, [f"first {i}".encode() for i in range(5)])
    code, out = _verify(url, vkey, state, "--samples", "3")
    assert code == 0 and "size 5" in out and "consistent with size 0" in out, out
    _append(database_url, key_path, [f"second {i}".encode() for i in range(9)])
    code, out = _verify(url, vkey, state, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["treeSize"] == 14 and report["previousSize"] == 5
    assert 0 in report["inclusionChecked"] and 13 in report["inclusionChecked"]
    saved = json.loads(state.read_text())
    assert verify_checkpoint(saved["checkpoint"], VerifierKey.parse(vkey)).tree_size == 14

    signer = load_or_create_signer(key_path, None)
    good_state = state.read_text()
    # The auditor once saw a larger tree: the log now shows less, a rollback.
    state.write_text(json.dumps({"checkpoint": signer.checkpoint(40, bytes(32))}))
    code, out = _verify(url, vkey, state)
    assert code == 16 and out.startswith("FAILED [rollback]") and "shrank" in out, out
    # The auditor saw size 14 with another root: a fork.
    state.write_text(json.dumps({"checkpoint": signer.checkpoint(14, bytes(32))}))
    code, out = _verify(url, vkey, state)
    assert code == 16 and "fork" in out, out
    # The auditor saw a size-3 tree that is no prefix of this one.
    state.write_text(json.dumps({"checkpoint": signer.checkpoint(3, bytes(32))}))
    code, out = _verify(url, vkey, state)
    assert code == 16 and out.startswith("FAILED [consistency]"), out
    state.write_text(good_state)

    impostor = LogSigner(signer.name, Ed25519PrivateKey.generate()).verifier_key
    code, out = _verify(url, impostor, tmp_path / "other.json")
    assert code == 14 and out.startswith("FAILED [checkpoint-signature]"), out
    code, out = _verify(url, "not-a-key", state)
    assert code == 3 and out.startswith("FAILED [log-key]"), out
    state.write_text("{not json")
    code, out = _verify(url, vkey, state)
    assert code == 3 and out.startswith("FAILED [audit-state]"), out
    code, out = _verify(f"http://127.0.0.1:{free_port()}", vkey, tmp_path / "x.json")
    assert code == 10 and out.startswith("FAILED [fetch]"), out

    # One server per engine for everything: a dishonest hub, one altered answer at a time.
    _lying_hub_is_caught(url, VerifierKey.parse(vkey), database_url, key_path)


class LyingLog:
    """The real client, with one kind of answer altered: what a dishonest hub could send."""

    def __init__(self, real: LogClient, lie: str) -> None:
        self._real, self._lie = real, lie

    def checkpoint(self) -> bytes:
        return self._real.checkpoint()

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        proof = self._real.consistency_proof(first, second)
        if self._lie == "consistency":
            proof[-1] = bytes(32)
        return proof

    def entries(self, start: int, end: int) -> list[FetchedEntry]:
        served = self._real.entries(start, end)
        if self._lie == "body":
            return [FetchedEntry(e.index, e.leaf_hash, e.body + b" ") for e in served]
        return served

    def inclusion_proof(self, index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        leaf, proof = self._real.inclusion_proof(index, tree_size)
        if self._lie == "inclusion" and proof:
            proof[0] = bytes(32)
        return leaf, proof


def _lying_hub_is_caught(url: str, key: VerifierKey, database_url: str, key_path: Path) -> None:
    with LogClient(url) as real:
        for lie, error in (
            ("consistency", ConsistencyProofInvalid),
            ("body", InclusionProofInvalid),
            ("inclusion", InclusionProofInvalid),
        ):
            before = audit_log(real, key, None, rng=random.Random(1))
            _append(database_url, key_path, [f"{lie} {i}".encode() for i in range(7)])
            with pytest.raises(error):
                audit_log(LyingLog(real, lie), key, before.checkpoint, rng=random.Random(2))  # type: ignore[arg-type]
