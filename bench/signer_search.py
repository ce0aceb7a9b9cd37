"""What a signer search costs next to an SBOM-fact search, over the same versions.

``GET /api/v1/versions?signer=`` reads the principals of the verified verdicts from a JSON
array (``json_each`` / ``json_array_elements_text``): no index serves it, so it scans the
verdicts. ``?license=`` reads ``sbom_facts`` through its (kind, value) index. This fills a
database with ``--versions`` versions (rows only: a version manifest, a signature referrer
and its verified verdict, an SBOM with a licence fact), signed by ``--signers`` keys in
turn, and times :func:`registry.sbom.service.search_versions` in process, interleaved:
licence (the reference), signer by name, by 16-digit key-id prefix, by e-mail. It reports
the median of each and its ratio to the reference.

    python -m bench signer-search [--versions 20000] [--signers 50] [--rounds 30]
        [--database-url postgresql://...]   (default: a fresh SQLite file)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Principal, Scope
from registry.db import migrate
from registry.db.engine import create_service_engine, create_sync_engine
from registry.db.models import (
    Manifest,
    Namespace,
    Repository,
    SbomFact,
    SignatureVerification,
    Tag,
)
from registry.db.models import Sbom as SbomRow
from registry.db.types import utcnow
from registry.sbom.service import search_versions

_PER_MODEL = 100  # versions per model


def _digest(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def _key_id(signer: int) -> str:
    return hashlib.sha256(f"key-{signer}".encode()).hexdigest()


def _fill(url: str, versions: int, signers: int) -> None:
    now = utcnow()
    engine = create_sync_engine(url)
    rows: dict[Any, list[dict[str, Any]]] = {
        Repository: [],
        Manifest: [],
        Tag: [],
        SignatureVerification: [],
        SbomRow: [],
        SbomFact: [],
    }
    for model in range(-(-versions // _PER_MODEL)):
        rows[Repository].append(
            {"id": model + 1, "namespace_id": 1, "name": f"acme/m{model}", "created_at": now}
        )
    for index in range(versions):
        repository_id, signer = index // _PER_MODEL + 1, index % signers
        version_id, signature_id, sbom_id = 3 * index + 1, 3 * index + 2, 3 * index + 3
        for manifest_id, kind in ((version_id, None), (signature_id, "sig"), (sbom_id, "bom")):
            rows[Manifest].append(
                {
                    "id": manifest_id,
                    "repository_id": repository_id,
                    "digest": _digest(f"{index}-{kind}"),
                    "media_type": "application/vnd.oci.image.manifest.v1+json",
                    "artifact_type": kind,
                    "subject_digest": None if kind is None else _digest(f"{index}-None"),
                    "size": 2,
                    "content": b"{}",
                    "annotations": {},
                    "pushed_by": "bench",
                    "created_at": now,
                }
            )
        rows[Tag].append(
            {
                "id": index + 1,
                "repository_id": repository_id,
                "name": f"1.0.{index}",
                "manifest_id": version_id,
                "is_version": True,
                "created_at": now,
                "updated_at": now,
                "updated_by": "bench",
            }
        )
        rows[SignatureVerification].append(
            {
                "id": index + 1,
                "repository_id": repository_id,
                "subject_manifest_id": version_id,
                "referrer_manifest_id": signature_id,
                "bundle_digest": _digest(f"{index}-bundle"),
                "outcome": "verified",
                "signer": f"key {_key_id(signer)} (signer{signer})",
                "trusted_as": f"signer{signer}",
                "principals": [
                    f"key:{_key_id(signer)}",
                    f"subject:https://issuer.example|signer{signer}@example.com",
                ],
                "reason": "",
                "policy_digest": _digest("policy"),
                "principal_format": 2,
                "verified_at": now,
            }
        )
        rows[SbomRow].append(
            {
                "id": index + 1,
                "repository_id": repository_id,
                "subject_manifest_id": version_id,
                "referrer_manifest_id": sbom_id,
                "blob_digest": _digest(f"{index}-bom-blob"),
                "spec_version": "1.6",
                "binding": "files",
                "summary": {},
                "created_by": "bench",
                "created_at": now,
            }
        )
        rows[SbomFact].append(
            {"sbom_id": index + 1, "kind": "license", "value": f"LIC-{index % signers}"}
        )
    try:
        with engine.begin() as connection:
            connection.execute(insert(Namespace).values(id=1, name="acme", created_at=now))
            for table, values in rows.items():
                for start in range(0, len(values), 5000):
                    connection.execute(insert(table), values[start : start + 5000])
            if url.startswith("postgresql"):
                connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


async def _time(url: str, rounds: int) -> dict[str, Any]:
    engine = create_service_engine(url)
    site = Principal(actor="bench", namespace="*", scopes=frozenset({Scope.ADMIN}))
    searches: dict[str, dict[str, Any]] = {
        "license": {"facts": {"license": "LIC-7"}},
        "signer_name": {"signer": "signer7"},
        "signer_key_prefix": {"signer": _key_id(7)[:16]},
        "signer_email": {"signer": "SIGNER7@example.com"},
    }
    times: dict[str, list[float]] = {name: [] for name in searches}
    totals: dict[str, int] = {}
    try:
        for round_number in range(rounds + 1):  # the first round warms caches, not counted
            for name, asked in searches.items():
                async with engine.connect() as connection:
                    session = AsyncSession(bind=connection)
                    started = time.perf_counter()
                    found = await search_versions(
                        session,
                        site,
                        facts=asked.get("facts", {}),
                        component=None,
                        opset=None,
                        signer=asked.get("signer"),
                        limit=100,
                        offset=0,
                    )
                    elapsed = time.perf_counter() - started
                    await session.close()
                totals[name] = found.total
                if round_number:
                    times[name].append(elapsed)
    finally:
        await engine.dispose()
    if len(set(totals.values())) != 1:
        raise RuntimeError(f"the searches should find the same versions: {totals}")
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    return {
        "found_per_search": totals["license"],
        "median_ms": {name: round(ms, 2) for name, ms in medians.items()},
        "ratio_vs_license": {
            name: round(ms / medians["license"], 2) for name, ms in medians.items()
        },
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench signer-search")
    parser.add_argument("--versions", type=int, default=20000)
    parser.add_argument("--signers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args(argv)
    if args.signers < 8:
        parser.error("--signers must be at least 8 (the searches look for signer 7)")
    with tempfile.TemporaryDirectory() as workdir:
        url = args.database_url or f"sqlite:///{Path(workdir) / 'custody.db'}"
        migrate.upgrade(url)
        _fill(url, args.versions, args.signers)
        report = {
            "benchmark": "version search by signer vs by SBOM licence (same rows, same run)",
            "engine": url.split(":", 1)[0],
            "versions": args.versions,
            "signers": args.signers,
            "rounds": args.rounds,
            **asyncio.run(_time(url, args.rounds)),
        }
    print(json.dumps(report, indent=2))
    return 0
