"""Proofs at 1,000,000 entries, served over HTTP, verified by independent code.

SQLite only, on purpose: building a million-entry tree costs seconds with one
bulk ``executemany`` into SQLite, and the PostgreSQL path is the same SQL the
other tests run on both engines. The tree rows are produced by the registry's
own append code (``Frontier``), so what is served is what the log would serve.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from litestar.testing import TestClient

from bench._tlog_fill import entry_body, fill_sqlite
from registry import create_app
from registry.settings import DatabaseSettings, Settings
from registry.tlog import load_or_create_signer
from tests.registry.tlog import reference
from verifier.transparency import (
    VerifierKey,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
)

SIZE = 1_000_000


@pytest.mark.slow
def test_proofs_at_a_million_entries(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "custody.db"
    shutil.copyfile(sqlite_template, database)
    settings = Settings(
        data_dir=tmp_path / "data", database=DatabaseSettings(url=f"sqlite:///{database}")
    )
    signer = load_or_create_signer(settings.effective_tlog_key, None)
    fill_sqlite(database, SIZE, signer, entries=False)
    leaves = [reference.leaf(entry_body(i)) for i in range(SIZE)]
    levels = reference.perfect_levels(leaves)
    root = reference.prefix_root(levels, SIZE)

    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        key = VerifierKey.parse(client.get("/api/v1/log/key").text)
        checkpoint = verify_checkpoint(client.get("/api/v1/log/checkpoint").text, key)
        assert (checkpoint.tree_size, checkpoint.root_hash) == (SIZE, root)
        for index in (0, 1, 2**19 - 1, 2**19, 765_432, SIZE - 2, SIZE - 1):
            got = client.get("/api/v1/log/proof/inclusion", params={"index": index}).json()
            hashes = [bytes.fromhex(h) for h in got["inclusionProof"]]
            assert reference.sigstore_root(index, SIZE, leaves[index], hashes) == root
            verify_inclusion(index, SIZE, leaves[index], hashes, root)
        for first in (1, 2**19, 2**19 + 3, SIZE - 1):
            got = client.get(
                "/api/v1/log/proof/consistency", params={"first": first, "second": SIZE}
            ).json()
            hashes = [bytes.fromhex(h) for h in got["consistencyProof"]]
            verify_consistency(first, SIZE, hashes, reference.prefix_root(levels, first), root)
