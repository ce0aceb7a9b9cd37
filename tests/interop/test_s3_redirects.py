"""Blob downloads redirected to presigned SeaweedFS URLs (``CUSTODY_S3_REDIRECT_SECONDS``).

A live ``custody serve`` on each engine with its blobs in SeaweedFS answers an
allowed blob GET with 307 to a presigned URL of the object; ``custody pull``,
the registry client's resumable download and ``oras`` follow it and still
verify every byte (a tampered object is refused). A caller refused for any
reason (401, 403, 404, 416) never sees a ``Location`` or the store's address;
``HEAD`` stays local.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import oras.client
import pytest

from tests.interop.conftest import Redirecting
from tests.support.registry_helpers import onnx_bytes
from verifier.clients.registry import RegistryClient
from verifier.errors import IntegrityError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def pushed(redirecting: Redirecting, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``acme/redirected:1.0.0``: a model pushed once per module; file name -> sha256."""
    source = tmp_path_factory.mktemp("src")
    (source / "model.onnx").write_bytes(onnx_bytes(3 * 1024 * 1024 + 7))
    (source / "config.json").write_text('{"arch": "unet"}')
    redirecting.custody(redirecting.token(), "push", str(source), "acme/redirected:1.0.0")
    return _hashes(source)


def _hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _blob_url(redirecting: Redirecting, digest: str, repository: str = "acme/redirected") -> str:
    return f"{redirecting.base}/v2/{repository}/blobs/sha256:{digest}"


def _reveals_nothing(redirecting: Redirecting, response: httpx.Response) -> None:
    assert "location" not in response.headers
    everything = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
    assert redirecting.store_host not in everything
    assert "X-Amz-Signature" not in everything


def test_allowed_get_is_redirected_to_a_presigned_url(
    redirecting: Redirecting, pushed: dict[str, str]
) -> None:
    digest = pushed["model.onnx"]
    auth = {"Authorization": f"Bearer {redirecting.token()}"}
    answer = httpx.get(_blob_url(redirecting, digest), headers=auth, timeout=30)
    assert answer.status_code == 307
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["docker-content-digest"] == f"sha256:{digest}"
    location = answer.headers["location"]
    assert urlsplit(location).netloc == redirecting.store_host
    assert "X-Amz-Signature=" in location
    # The URL alone is the credential: no Authorization header is needed (or sent).
    fetched = httpx.get(location, timeout=30)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == digest


def test_range_is_checked_here_then_redirected_and_honoured_by_the_store(
    redirecting: Redirecting, pushed: dict[str, str]
) -> None:
    digest = pushed["model.onnx"]
    auth = {"Authorization": f"Bearer {redirecting.token()}"}
    whole = httpx.get(
        _blob_url(redirecting, digest), headers=auth, follow_redirects=True, timeout=30
    ).content
    ranged = httpx.get(
        _blob_url(redirecting, digest), headers={**auth, "Range": "bytes=100-"}, timeout=30
    )
    assert ranged.status_code == 307
    part = httpx.get(ranged.headers["location"], headers={"Range": "bytes=100-"}, timeout=30)
    assert part.status_code == 206
    assert part.content == whole[100:]
    unsatisfiable = httpx.get(
        _blob_url(redirecting, digest),
        headers={**auth, "Range": f"bytes={len(whole)}-"},
        timeout=30,
    )
    assert unsatisfiable.status_code == 416
    _reveals_nothing(redirecting, unsatisfiable)


def test_head_stays_local(redirecting: Redirecting, pushed: dict[str, str]) -> None:
    digest = pushed["model.onnx"]
    auth = {"Authorization": f"Bearer {redirecting.token()}"}
    head = httpx.head(_blob_url(redirecting, digest), headers=auth, timeout=30)
    assert head.status_code == 200
    assert head.headers["docker-content-digest"] == f"sha256:{digest}"
    assert "location" not in head.headers


def test_refused_callers_never_see_the_url(
    redirecting: Redirecting, pushed: dict[str, str]
) -> None:
    digest = pushed["model.onnx"]
    cases = {
        "no credential": ({}, 401, _blob_url(redirecting, digest)),
        "unknown token": (
            {"Authorization": "Bearer not-a-token"},
            401,
            _blob_url(redirecting, digest),
        ),
        "another namespace's token": (
            {"Authorization": f"Bearer {redirecting.token('other', 'pull')}"},
            403,
            _blob_url(redirecting, digest),
        ),
        "blob not in this repository": (
            {"Authorization": f"Bearer {redirecting.token()}"},
            404,
            _blob_url(redirecting, digest, "acme/elsewhere"),
        ),
        "unknown blob": (
            {"Authorization": f"Bearer {redirecting.token()}"},
            404,
            _blob_url(redirecting, "0" * 64),
        ),
    }
    for label, (headers, status, url) in cases.items():
        answer = httpx.get(url, headers=headers, timeout=30)
        assert answer.status_code == status, (label, answer.status_code, answer.text)
        _reveals_nothing(redirecting, answer)


def test_custody_pull_follows_and_verifies(
    redirecting: Redirecting, pushed: dict[str, str], tmp_path: Path
) -> None:
    redirecting.custody(redirecting.token(), "pull", "acme/redirected:1.0.0", str(tmp_path / "out"))
    assert _hashes(tmp_path / "out") == pushed


def test_resumed_download_sends_its_range_to_the_store(
    redirecting: Redirecting, pushed: dict[str, str], tmp_path: Path
) -> None:
    digest = pushed["model.onnx"]
    auth = {"Authorization": f"Bearer {redirecting.token()}"}
    whole = httpx.get(
        _blob_url(redirecting, digest), headers=auth, follow_redirects=True, timeout=30
    ).content
    target = tmp_path / "model.onnx"
    target.with_name("model.onnx.partial").write_bytes(whole[:1000])
    received: list[int] = []
    with RegistryClient(redirecting.base, redirecting.token()) as client:
        client.download_blob(
            "acme/redirected", f"sha256:{digest}", target, size=len(whole), progress=received.append
        )
    assert target.read_bytes() == whole
    assert sum(received) == len(whole)  # 1000 already there, the rest sent as 206


def test_oras_pull_follows_the_redirect(
    redirecting: Redirecting, pushed: dict[str, str], tmp_path: Path
) -> None:
    client = oras.client.OrasClient(hostname=redirecting.host, insecure=True)
    client.auth.set_basic_auth("ci", redirecting.token())
    pulled = client.pull(
        target=f"{redirecting.host}/acme/redirected:1.0.0", outdir=str(tmp_path / "out")
    )
    assert sorted(Path(p).name for p in pulled) == sorted(pushed)
    assert _hashes(tmp_path / "out") == pushed


def test_tampered_object_is_refused_after_the_redirect(
    redirecting: Redirecting, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "weights.onnx").write_bytes(onnx_bytes(200_000))
    token = redirecting.token()
    redirecting.custody(token, "push", str(source), "acme/tampered:1.0.0")
    digest = _hashes(source)["weights.onnx"]
    key = f"{redirecting.prefix}/sha256/{digest[:2]}/{digest}"
    original = (source / "weights.onnx").read_bytes()
    redirecting.server.client().put_object(
        Bucket=redirecting.server.bucket, Key=key, Body=original[:-1] + bytes([original[-1] ^ 1])
    )
    failed = redirecting.custody(
        token, "pull", "acme/tampered:1.0.0", str(tmp_path / "out"), check=False
    )
    assert failed.returncode != 0
    assert f"sha256:{digest}" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not (tmp_path / "out" / "weights.onnx").exists()
    with (
        RegistryClient(redirecting.base, token) as client,
        pytest.raises(IntegrityError, match="downloaded as"),
    ):
        client.download_blob("acme/tampered", f"sha256:{digest}", tmp_path / "direct")
