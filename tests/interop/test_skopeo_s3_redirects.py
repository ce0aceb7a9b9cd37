"""Debian's ``skopeo`` pulling through presigned S3 redirects (SeaweedFS), on both engines.

With ``CUSTODY_S3_REDIRECT_SECONDS`` every blob skopeo asks the registry for is answered
307 to a presigned URL of the object (counted by the registry's request metric, which
only blob GETs can raise at 307); skopeo follows each one and still checks every byte
against its digest: an object overwritten in the bucket makes the copy fail and nothing
of it is kept. A caller without pull rights is refused before any blob and never learns
where the store is.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.interop.conftest import Redirecting
from tests.support.oci_layout import Layout, read_layout
from tests.support.skopeo import (
    Skopeo,
    asking,
    model_layout,
    reading,
    skopeo_binary,
    writing,
)
from tests.support.tokens import issue

# skopeo --debug names each blob it fetches from the registry, once per GET.
_DOWNLOADING = re.compile(r'msg="Downloading /v2/[^ ]+/blobs/(sha256:[0-9a-f]{64})"')


@pytest.fixture(scope="module")
def skopeo(tmp_path_factory: pytest.TempPathFactory) -> Skopeo:
    return Skopeo.in_dir(skopeo_binary(), tmp_path_factory.mktemp("skopeo"))


def _token(redirecting: Redirecting, scopes: str = "pull,push", namespace: str = "acme") -> str:
    return issue(redirecting.database_url, namespace, scopes).secret


def _redirected(redirecting: Redirecting) -> int:
    """How many GETs under /v2/ the registry answered 307: only allowed blob GETs are."""
    total = 0.0
    for line in httpx.get(f"{redirecting.base}/metrics", timeout=30).text.splitlines():
        if (
            line.startswith("custody_requests_total{")
            and 'method="GET"' in line
            and 'path="/v2/{rest:path}"' in line
            and 'status_code="307"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _push(skopeo: Skopeo, redirecting: Redirecting, source: Layout, remote: str) -> None:
    skopeo.ok("copy", *writing(_token(redirecting)), source.reference, remote)


def test_skopeo_follows_every_redirect_and_gets_the_exact_bytes(
    skopeo: Skopeo, redirecting: Redirecting, tmp_path: Path
) -> None:
    source = model_layout(tmp_path / "src", "1.0.0")
    remote = f"docker://{redirecting.host}/acme/skopeo-redirected:1.0.0"
    _push(skopeo, redirecting, source, remote)
    pull = reading(_token(redirecting, "pull"))

    before = _redirected(redirecting)
    pulled = skopeo.ok("copy", *pull, remote, f"oci:{tmp_path / 'out'}:1.0.0", debug=True)
    fetched = _DOWNLOADING.findall(pulled.stderr)
    assert sorted(set(fetched)) == sorted(source.blobs)  # the config and both layers
    assert _redirected(redirecting) - before == len(fetched)  # each GET answered 307
    copy = read_layout(tmp_path / "out", "1.0.0")  # every blob's digest checked
    assert copy.manifest == source.manifest
    assert copy.blobs == source.blobs

    # Registry to registry: read through the redirects, written back through the registry.
    twin = f"docker://{redirecting.host}/acme/skopeo-twin:1.0.0"
    writer = _token(redirecting)
    skopeo.ok("copy", *reading(writer), *writing(writer), remote, twin)
    assert skopeo.ok("inspect", "--raw", *asking(writer), twin).stdout.encode() == (source.manifest)


def test_a_tampered_object_makes_skopeo_fail(
    skopeo: Skopeo, redirecting: Redirecting, tmp_path: Path
) -> None:
    source = model_layout(tmp_path / "src", "1.0.0")
    remote = f"docker://{redirecting.host}/acme/skopeo-tampered:1.0.0"
    _push(skopeo, redirecting, source, remote)
    (onnx,) = [d for d, data in source.blobs.items() if len(data) > 100_000]
    original = source.blobs[onnx]
    hexdigest = onnx.removeprefix("sha256:")
    redirecting.server.client().put_object(
        Bucket=redirecting.server.bucket,
        Key=f"{redirecting.prefix}/sha256/{hexdigest[:2]}/{hexdigest}",
        Body=original[:-1] + bytes([original[-1] ^ 1]),
    )

    before = _redirected(redirecting)
    pull = reading(_token(redirecting, "pull"))
    out = tmp_path / "out"
    failed = skopeo.run("copy", *pull, remote, f"oci:{out}:1.0.0")
    assert failed.returncode != 0
    assert f"Digest did not match, expected {onnx}" in failed.stderr
    assert _redirected(redirecting) > before  # the bad bytes came from the store itself
    assert not (out / "blobs" / "sha256" / hexdigest).exists()
    index = out / "index.json"
    assert not index.exists() or "1.0.0" not in index.read_text()  # no manifest written


@pytest.mark.parametrize(
    ("who", "refusal"),
    [
        # An empty credentials file: skopeo fetches a token without one, which grants
        # nothing here (anonymous pull is off) and is answered 403 like any other.
        pytest.param("anonymous", "denied: this access token does not grant pull", id="anonymous"),
        pytest.param("other-namespace", "denied: token ", id="other-namespace"),
    ],
)
def test_without_pull_rights_skopeo_never_learns_the_stores_address(
    skopeo: Skopeo, redirecting: Redirecting, tmp_path: Path, who: str, refusal: str
) -> None:
    repository = f"acme/skopeo-private-{who}"
    remote = f"docker://{redirecting.host}/{repository}:1.0.0"
    _push(skopeo, redirecting, model_layout(tmp_path / "src", "1.0.0"), remote)
    outsider = _token(redirecting, "pull", namespace="skopeo-other")
    pull = reading(None if who == "anonymous" else outsider)

    before = _redirected(redirecting)
    for target in (f"oci:{tmp_path / 'out'}:1.0.0", f"dir:{tmp_path / 'dir'}"):
        failed = skopeo.run("copy", *pull, remote, target, debug=True)
        assert failed.returncode != 0
        assert refusal in failed.stderr, failed.stderr[-2000:]
        assert f"does not grant pull on repository '{repository}'" in failed.stderr
        assert not _DOWNLOADING.search(failed.stderr)  # refused at the manifest
        everything = failed.stderr + failed.stdout
        assert redirecting.store_host not in everything
        assert "X-Amz-Signature" not in everything
    assert _redirected(redirecting) == before
