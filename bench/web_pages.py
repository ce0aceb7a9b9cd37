"""What the ``/ui`` pages cost against the JSON API calls that read the same data.

One ``custody serve`` (uvicorn, one worker, SQLite) holds one model with ``--versions``
versions: one pushed through ``/v2/`` (a manifest with two titled layers), the rest written
straight into its database (a manifest row each, with the same layers, and its version tag:
the pages read rows, not blobs). An admin session then fetches, interleaved in the same run:

- the model page (``/ui/{ns}/{model}``: the newest 100 versions, the aliases, the alias
  history) against ``GET /api/v1/models/{ns}/{model}/versions?limit=100`` at the same offset;
- the version page (``/ui/{ns}/{model}/versions/{v}``: the version, the promotion check per
  alias, the TUF targets, the hub outputs) against ``GET /api/v1/models/{ns}/{model}/versions/{v}``.

Times are request round trips on the loopback (the same client overhead on both sides of
each ratio); it reports p50 and p99 per kind and the page / API ratio of the p50s. The
model page shows 100 versions at a time (``?page=``): the unpaged model API call
(``GET /api/v1/models/{ns}/{model}``, up to 500 versions) is reported for comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from datetime import timedelta

import httpx
from sqlalchemy import insert, select

from bench._server import custody_server
from registry.db.engine import create_sync_engine
from registry.db.models import Manifest, ManifestReference, Repository, Tag
from registry.db.types import utcnow
from tests.support.oci_client import Oci

NAMESPACE = "bench"
MODEL = f"{NAMESPACE}/model"
PAGE_SIZE = 100


def _seed_versions(database: str, versions: int) -> None:
    """Versions ``1.0.1`` .. ``1.0.{versions-1}``, newer each, each on a manifest of its own:
    ``1.0.0``'s with one more annotation (so a distinct digest), and the same layers."""
    engine = create_sync_engine(database)
    start = utcnow()
    try:
        with engine.begin() as connection:
            repository_id, manifest_id = connection.execute(
                select(Repository.id, Tag.manifest_id)
                .join(Tag, Tag.repository_id == Repository.id)
                .where(Repository.name == MODEL, Tag.name == "1.0.0")
            ).one()
            original = (
                connection.execute(select(Manifest).where(Manifest.id == manifest_id))
                .mappings()
                .one()
            )
            references = [
                dict(r)
                for r in connection.execute(
                    select(ManifestReference.__table__).where(
                        ManifestReference.manifest_id == manifest_id
                    )
                ).mappings()
            ]
            document = json.loads(original.content)
            for i in range(1, versions):
                document["annotations"] = {"bench.version": str(i)}
                content = json.dumps(document, separators=(",", ":")).encode()
                when = start + timedelta(seconds=i)
                new_id = connection.execute(
                    insert(Manifest)
                    .values(
                        repository_id=repository_id,
                        digest="sha256:" + hashlib.sha256(content).hexdigest(),
                        media_type=original.media_type,
                        artifact_type=original.artifact_type,
                        size=len(content),
                        content=content,
                        annotations=document["annotations"],
                        pushed_by="bench",
                        created_at=when,
                    )
                    .returning(Manifest.id)
                ).scalar_one()
                connection.execute(
                    insert(ManifestReference),
                    [{**r, "manifest_id": new_id} for r in references],
                )
                connection.execute(
                    insert(Tag).values(
                        repository_id=repository_id,
                        name=f"1.0.{i}",
                        manifest_id=new_id,
                        is_version=True,
                        created_at=when,
                        updated_at=when,
                        updated_by="bench",
                    )
                )
    finally:
        engine.dispose()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _timed(client: httpx.Client, path: str, headers: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    response = client.get(path, headers=headers)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed


def _figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p99_ms": round(_percentile(samples, 0.99) * 1000, 2),
    }


def measure(versions: int, rounds: int) -> dict[str, object]:
    with custody_server() as server:
        token = server.token(NAMESPACE, "admin")
        api_headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, timeout=120) as client:
            oci = Oci(client, api_headers, name=MODEL)  # type: ignore[arg-type]
            body = oci.manifest([b"weights" * 64, b'{"arch": "bench"}'], titles=["w.txt", "c.json"])
            pushed = oci.put_manifest("1.0.0", body)
            if pushed.status_code != 201:
                raise RuntimeError(f"push failed: {pushed.status_code} {pushed.text}")
            moved = client.put(
                f"/api/v1/models/{MODEL}/aliases/staging",
                json={"version": "1.0.0"},
                headers=api_headers,
            )
            if moved.status_code != 200:
                raise RuntimeError(f"alias move failed: {moved.status_code} {moved.text}")
            _seed_versions(f"sqlite:///{server.workdir / 'data' / 'custody.db'}", versions)
            login = client.post(
                "/ui/-/login",
                data={"token": token, "next": "/ui"},
                headers={"Sec-Fetch-Site": "same-origin"},
            )
            if login.status_code != 303 or "custody_session" not in client.cookies:
                raise RuntimeError(f"login failed: {login.status_code}")
            middle = f"1.0.{versions // 2}"
            offset = max(0, versions - PAGE_SIZE)
            kinds = {
                "model_page": (f"/ui/{MODEL}", None),
                "model_api": (
                    f"/api/v1/models/{MODEL}/versions?limit={PAGE_SIZE}&offset={offset}",
                    api_headers,
                ),
                "model_api_unpaged": (f"/api/v1/models/{MODEL}", api_headers),
                "version_page": (f"/ui/{MODEL}/versions/{middle}", None),
                "version_api": (f"/api/v1/models/{MODEL}/versions/{middle}", api_headers),
            }
            samples: dict[str, list[float]] = {kind: [] for kind in kinds}
            for path, headers in kinds.values():  # warm up
                _timed(client, path, headers)
            for _ in range(rounds):
                for kind, (path, headers) in kinds.items():
                    samples[kind].append(_timed(client, path, headers))
    report: dict[str, object] = {"versions": versions, "rounds": rounds}
    report.update({kind: _figures(values) for kind, values in samples.items()})
    p50 = {kind: statistics.median(values) for kind, values in samples.items()}
    report["model_page_vs_api_p50"] = round(p50["model_page"] / p50["model_api"], 2)
    report["version_page_vs_api_p50"] = round(p50["version_page"] / p50["version_api"], 2)
    report["model_page_vs_unpaged_api_p50"] = round(p50["model_page"] / p50["model_api_unpaged"], 2)
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench web-pages")
    parser.add_argument("--versions", type=int, default=1000, help="versions of the one model")
    parser.add_argument("--rounds", type=int, default=100, help="requests per kind")
    args = parser.parse_args(argv)
    report = measure(max(1, args.versions), max(1, args.rounds))
    print("web pages vs JSON API:")
    print(json.dumps(report, indent=2))
    return 0
