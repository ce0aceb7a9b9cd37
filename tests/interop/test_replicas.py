"""Two ``custody serve`` replicas on one PostgreSQL database and one SeaweedFS: one registry.

Both replicas are live processes sharing the database, the bucket (under one prefix)
and the data directory (the TUF, log and hub keys). What one replica does, the
other sees: an upload session moves between them mid-way, tags and aliases pushed
on one are read on the other (within ``CUSTODY_MANIFEST_CACHE_SECONDS``), the TUF
repository and the transparency log are one, and a token revoked through one is
refused by the other (within ``CUSTODY_AUTH_CACHE_SECONDS``).

PostgreSQL only: SQLite is the single-process embedded default, not a shared database.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tuf.ngclient import Updater

from registry.tlog import load_or_create_signer
from tests.conftest import _truncate_postgres
from tests.registry.tlog.conftest import open_log
from tests.registry.tuf.conftest import ClientFetcher, push_version
from tests.support.live import CUSTODY, cli_env, serving
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, onnx_bytes, safetensors_bytes, sha256_digest
from tests.support.seaweedfs import SeaweedFS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MiB = 1024 * 1024
#: The cache bounds the replicas run with; every wait below is far longer than these.
CACHE_SECONDS = 1
DEADLINE_SECONDS = 30.0


@dataclass
class Cluster:
    a: str
    b: str
    data_dir: Path
    root_json: Path
    env: dict[str, str]
    server: SeaweedFS
    prefix: str

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [CUSTODY, *args], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def token(self, namespace: str = "acme", scopes: str = "pull,push,admin") -> str:
        return self.cli("token", "create", "--namespace", namespace, "--scopes", scopes)

    def objects(self, under: str) -> list[str]:
        listed = self.server.client().list_objects_v2(
            Bucket=self.server.bucket, Prefix=f"{self.prefix}/{under}"
        )
        return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS, postgres_database: str
) -> Iterator[Cluster]:
    _truncate_postgres(postgres_database)
    root = tmp_path_factory.mktemp("replicas")
    data_dir = root / "data"
    data_dir.mkdir()
    prefix = f"replicas-{uuid.uuid4().hex[:12]}"
    env = {
        **cli_env(data_dir, postgres_database),
        **seaweedfs.registry_env(prefix),
        "CUSTODY_AUTH_CACHE_SECONDS": str(CACHE_SECONDS),
        "CUSTODY_MANIFEST_CACHE_SECONDS": str(CACHE_SECONDS),
    }
    root_json = root / "root.json"
    subprocess.run(
        [CUSTODY, "tuf", "init", "--root-out", str(root_json)],
        env=env,
        capture_output=True,
        check=True,
    )
    (root / "a").mkdir()
    (root / "b").mkdir()
    with ExitStack() as stack:
        a = stack.enter_context(serving(env, root / "a"))
        b = stack.enter_context(serving(env, root / "b"))
        yield Cluster(a, b, data_dir, root_json, env, seaweedfs, prefix)


def _poll(check: object, deadline: float = DEADLINE_SECONDS) -> None:
    """Call ``check`` until it returns true or the deadline passes (the caller asserts after)."""
    assert callable(check)
    stop = time.monotonic() + deadline
    while not check() and time.monotonic() < stop:
        time.sleep(0.1)


def test_upload_opened_on_a_continued_on_b_closed_on_a(cluster: Cluster) -> None:
    token = bearer(cluster.token())
    first, second, last = os.urandom(6 * MiB), os.urandom(6 * MiB), os.urandom(1000)
    digest = sha256_digest(first + second + last)
    with (
        httpx.Client(base_url=cluster.a, timeout=60) as a,
        httpx.Client(base_url=cluster.b, timeout=60) as b,
    ):
        opened = a.post("/v2/acme/split/blobs/uploads/", headers=token)
        assert opened.status_code == 202, opened.text
        location = opened.headers["location"]
        patched = a.patch(location, content=first, headers=token)
        assert patched.status_code == 202 and patched.headers["range"] == f"0-{len(first) - 1}"
        status = b.get(location, headers=token)  # B sees A's chunk
        assert status.status_code == 204 and status.headers["range"] == f"0-{len(first) - 1}"
        patched = b.patch(location, content=second, headers=token)
        assert patched.status_code == 202, patched.text
        assert patched.headers["range"] == f"0-{len(first) + len(second) - 1}"
        # A's running hash saw only the first chunk: it must re-hash from the bucket.
        closed = a.put(f"{location}?digest={digest}", content=last, headers=token)
        assert closed.status_code == 201, closed.text
        for replica in (a, b):
            fetched = replica.get(f"/v2/acme/split/blobs/{digest}", headers=token)
            assert fetched.status_code == 200
            assert sha256_digest(fetched.content) == digest
        assert b.get(location, headers=token).status_code == 404  # consumed, everywhere
    assert cluster.objects("_sessions/") == []


def test_a_wrong_digest_closed_on_the_other_replica_stores_nothing(cluster: Cluster) -> None:
    token = bearer(cluster.token())
    data = os.urandom(MiB)
    with (
        httpx.Client(base_url=cluster.a, timeout=60) as a,
        httpx.Client(base_url=cluster.b, timeout=60) as b,
    ):
        location = a.post("/v2/acme/split/blobs/uploads/", headers=token).headers["location"]
        assert a.patch(location, content=data, headers=token).status_code == 202
        claimed = sha256_digest(data[:-1] + b"x")
        closed = b.put(f"{location}?digest={claimed}", headers=token)
        assert closed.status_code == 400
        assert closed.json()["errors"][0]["code"] == "DIGEST_INVALID"
        assert a.head(f"/v2/acme/split/blobs/{claimed}", headers=token).status_code == 404
    assert cluster.objects("_sessions/") == []


def test_tags_and_alias_moves_pushed_on_a_are_seen_on_b(cluster: Cluster) -> None:
    token = bearer(cluster.token())
    with (
        httpx.Client(base_url=cluster.a, timeout=60) as a,
        httpx.Client(base_url=cluster.b, timeout=60) as b,
    ):
        on_a = Oci(a, token, name="acme/tagged")  # type: ignore[arg-type]
        one, _ = push_version(on_a, "1.0.0", {"model.safetensors": safetensors_bytes(b"1" * 16)})
        two, _ = push_version(on_a, "2.0.0", {"model.safetensors": safetensors_bytes(b"2" * 16)})
        assert on_a.put_manifest("staging", one).status_code == 201
        tags = b.get("/v2/acme/tagged/tags/list", headers=token)
        assert tags.json()["tags"] == ["1.0.0", "2.0.0", "staging"]

        def staging_on_b() -> bytes:
            return b.get("/v2/acme/tagged/manifests/staging", headers=token).content

        assert staging_on_b() == one  # and now B may hold it in its manifest cache
        assert on_a.put_manifest("staging", two).status_code == 201
        # B answers from its cache for at most CUSTODY_MANIFEST_CACHE_SECONDS, then reads SQL.
        _poll(lambda: staging_on_b() == two)
        assert staging_on_b() == two
        assert b.delete("/v2/acme/tagged/manifests/staging", headers=token).status_code == 202
        _poll(lambda: a.get("/v2/acme/tagged/manifests/staging", headers=token).status_code == 404)
        assert a.get("/v2/acme/tagged/manifests/staging", headers=token).status_code == 404


def test_one_tuf_repository_whichever_replica_answers(cluster: Cluster, tmp_path: Path) -> None:
    token = cluster.token()
    with (
        httpx.Client(base_url=cluster.a, timeout=60) as a,
        httpx.Client(base_url=cluster.b, timeout=60) as b,
    ):
        push_version(
            Oci(a, bearer(token), name="acme/from-a"),  # type: ignore[arg-type]
            "1.0.0",
            {"model.safetensors": safetensors_bytes(b"a" * 16)},
        )
        push_version(
            Oci(b, bearer(token), name="acme/from-b"),  # type: ignore[arg-type]
            "1.0.0",
            {"model.safetensors": safetensors_bytes(b"b" * 16)},
        )
        metadata = tmp_path / "metadata"
        metadata.mkdir()
        (metadata / "root.json").write_bytes(cluster.root_json.read_bytes())

        def updater(client: httpx.Client, base: str) -> Updater:
            return Updater(
                metadata_dir=str(metadata),
                metadata_base_url=f"{base}/tuf/",
                fetcher=ClientFetcher(client, bearer(token)),
                bootstrap=None,
            )

        # One client, one trusted state, alternating replicas (a load balancer's doing):
        # no rollback, no mix-and-match, both pushes in one view.
        for client, base in ((a, cluster.a), (b, cluster.b), (a, cluster.a)):
            fresh = updater(client, base)
            fresh.refresh()
            for model in ("from-a", "from-b"):
                info = fresh.get_targetinfo(f"acme/{model}/1.0.0/model.safetensors")
                assert info is not None, (base, model)

        def same_timestamp() -> bool:
            return a.get("/tuf/timestamp.json").content == b.get("/tuf/timestamp.json").content

        _poll(same_timestamp)
        assert same_timestamp()


def test_one_transparency_log_whichever_replica_answers(cluster: Cluster) -> None:
    """Two more writers on the same database and key append concurrently; both replicas agree."""
    key = cluster.data_dir / "keys" / "tlog.key"
    url = cluster.env["CUSTODY_DATABASE_URL"]
    with httpx.Client(timeout=30) as http:
        before = int(http.get(f"{cluster.a}/api/v1/log/checkpoint").text.splitlines()[1])

    async def append_from_two_writers() -> None:
        async with open_log(url, key, None) as one, open_log(url, key, None) as two:
            await asyncio.gather(
                *(one.append(f"from one {i}".encode()) for i in range(20)),
                *(two.append(f"from two {i}".encode()) for i in range(20)),
            )

    assert load_or_create_signer(key, None).name  # the replicas' own key, made at start
    asyncio.run(append_from_two_writers())
    with httpx.Client(timeout=30) as http:
        notes = [http.get(f"{base}/api/v1/log/checkpoint").text for base in (cluster.a, cluster.b)]
        assert notes[0] == notes[1]
        size = int(notes[0].splitlines()[1])
        assert size == before + 40
        proof = http.get(
            f"{cluster.b}/api/v1/log/proof/inclusion",
            params={"index": size - 1, "tree_size": size},
        )
        assert proof.status_code == 200, proof.text
        keys = {http.get(f"{base}/api/v1/log/key").text for base in (cluster.a, cluster.b)}
        assert len(keys) == 1


def test_token_revoked_through_a_is_refused_by_b(cluster: Cluster) -> None:
    secret = cluster.token("acme", "pull")
    headers = bearer(secret)
    with (
        httpx.Client(base_url=cluster.a, timeout=30) as a,
        httpx.Client(base_url=cluster.b, timeout=30) as b,
    ):

        def status_on_b() -> int:
            return b.get("/v2/acme/tagged/tags/list", headers=headers).status_code

        assert status_on_b() == 200  # B now trusts the token from its cache
        token_id = a.get("/api/v1/tokens/self", headers=headers).json()["id"]
        assert a.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
        assert a.get("/v2/acme/tagged/tags/list", headers=headers).status_code == 401
        # B honours the revocation once its cache entry expires (CUSTODY_AUTH_CACHE_SECONDS).
        _poll(lambda: status_on_b() == 401)
        assert status_on_b() == 401


def test_pull_from_b_what_custody_pushed_to_a(cluster: Cluster, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "weights.onnx").write_bytes(onnx_bytes(3 * MiB))
    (source / "config.json").write_text('{"arch": "unet"}')
    token = cluster.token()

    def custody(base: str, *args: str) -> None:
        env = dict(os.environ, CUSTODY_REGISTRY=base, CUSTODY_TOKEN=token)
        done = subprocess.run(
            [CUSTODY, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr

    custody(cluster.a, "push", str(source), "acme/pushed:1.0.0")
    custody(cluster.b, "pull", "acme/pushed:1.0.0", str(tmp_path / "out"))
    for name in ("weights.onnx", "config.json"):
        assert (
            hashlib.sha256((tmp_path / "out" / name).read_bytes()).digest()
            == hashlib.sha256((source / name).read_bytes()).digest()
        )
