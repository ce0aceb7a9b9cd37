"""Where a redirected blob download sends the registry's credential: only to the registry.

Two loopback servers: a "registry" that answers every blob GET with a redirect, and
an "object store" on another port (another origin) that serves the bytes, honouring
``Range``. Each records the headers it was sent. The client follows, keeps the
``Range``, drops ``Authorization`` on the way to the other origin, verifies the bytes,
and refuses what a redirect must not lead to. httpx (the other clients' library) is
checked for the same property, in case a blob GET is ever moved onto it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from verifier.clients.registry import FetchError, RegistryClient
from verifier.errors import IntegrityError

BLOB = bytes(range(256)) * 400
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
SECRET_QUERY = "X-Amz-Signature=deadbeef"


@dataclass
class Recorder:
    base: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)
    #: What the registry answers: (status, Location) for every blob GET.
    redirect: tuple[int, str] = (307, "")
    #: Where the registry sends a GET of ``.../elsewhere/...`` (its own second hop).
    onward: str = ""
    body: bytes = BLOB


def _serve(recorder: Recorder, kind: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
            if kind == "registry":
                status, location = recorder.redirect
                if "/elsewhere/" in self.path:
                    location = recorder.onward
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if "X-Amz-Signature=deadbeef" not in self.path:
                self.send_response(403)
                self.send_header("Content-Length", "13")
                self.end_headers()
                self.wfile.write(b"AccessDenied!")
                return
            body, status = recorder.body, 200
            wanted = self.headers.get("Range")
            if wanted:
                start = int(wanted.removeprefix("bytes=").rstrip("-"))
                body, status = body[start:], 206
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder.base = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def pair() -> Iterator[tuple[Recorder, Recorder]]:
    registry, store = Recorder(), Recorder()
    servers = [_serve(registry, "registry"), _serve(store, "store")]
    registry.redirect = (307, f"{store.base}/bucket/blob?{SECRET_QUERY}")
    try:
        yield registry, store
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_credential_stays_with_the_registry(
    pair: tuple[Recorder, Recorder], tmp_path: Path
) -> None:
    registry, store = pair
    with RegistryClient(registry.base, "secret-token") as client:
        client.download_blob("acme/m", DIGEST, tmp_path / "blob", size=len(BLOB))
    assert (tmp_path / "blob").read_bytes() == BLOB
    assert registry.seen[0]["authorization"] == "Bearer secret-token"
    assert len(store.seen) == 1
    assert "authorization" not in store.seen[0]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed_with_the_range(
    pair: tuple[Recorder, Recorder], tmp_path: Path, status: int
) -> None:
    registry, store = pair
    registry.redirect = (status, registry.redirect[1])
    (tmp_path / "blob.partial").write_bytes(BLOB[:500])
    with RegistryClient(registry.base, "secret-token") as client:
        client.download_blob("acme/m", DIGEST, tmp_path / "blob", size=len(BLOB))
    assert (tmp_path / "blob").read_bytes() == BLOB
    assert registry.seen[0]["range"] == store.seen[0]["range"] == "bytes=500-"


def test_tampered_bytes_behind_a_redirect_are_refused(
    pair: tuple[Recorder, Recorder], tmp_path: Path
) -> None:
    registry, store = pair
    store.body = BLOB[:-1] + b"\x00"
    with (
        RegistryClient(registry.base, "secret-token") as client,
        pytest.raises(IntegrityError, match="downloaded as"),
    ):
        client.download_blob("acme/m", DIGEST, tmp_path / "blob")
    assert not (tmp_path / "blob").exists()
    assert not (tmp_path / "blob.partial").exists()


def test_same_origin_redirect_keeps_the_credential(
    pair: tuple[Recorder, Recorder], tmp_path: Path
) -> None:
    registry, store = pair
    # The registry first redirects to itself, then (from there) to the store.
    registry.onward = registry.redirect[1]
    registry.redirect = (307, f"/v2/acme/m/blobs/elsewhere/{DIGEST}")
    with RegistryClient(registry.base, "secret-token") as client:
        client.download_blob("acme/m", DIGEST, tmp_path / "blob")
    assert (tmp_path / "blob").read_bytes() == BLOB
    assert [seen["authorization"] for seen in registry.seen] == ["Bearer secret-token"] * 2
    assert "authorization" not in store.seen[0]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("file:///etc/passwd", "non-HTTP location"),
        ("ftp://127.0.0.1/blob", "non-HTTP location"),
    ],
)
def test_redirect_to_a_non_http_location_is_refused(
    pair: tuple[Recorder, Recorder], tmp_path: Path, location: str, message: str
) -> None:
    registry, _ = pair
    registry.redirect = (307, location)
    with RegistryClient(registry.base, "t") as client, pytest.raises(FetchError, match=message):
        client.download_blob("acme/m", DIGEST, tmp_path / "blob")


def test_redirect_loop_is_refused(pair: tuple[Recorder, Recorder], tmp_path: Path) -> None:
    registry, _ = pair
    registry.redirect = (307, f"/v2/acme/m/blobs/{DIGEST}")
    with (
        RegistryClient(registry.base, "t") as client,
        pytest.raises(FetchError, match="more than 3 redirects"),
    ):
        client.download_blob("acme/m", DIGEST, tmp_path / "blob")


def test_store_refusal_names_the_host_never_the_signed_url(
    pair: tuple[Recorder, Recorder], tmp_path: Path
) -> None:
    registry, store = pair
    registry.redirect = (307, f"{store.base}/bucket/blob?X-Amz-Signature=wrong")
    with (
        RegistryClient(registry.base, "t") as client,
        pytest.raises(FetchError) as refused,
    ):
        client.download_blob("acme/m", DIGEST, tmp_path / "blob")
    text = str(refused.value)
    assert store.base.removeprefix("http://") in text
    assert "HTTP 403" in text
    assert "Signature" not in text


def test_httpx_drops_authorization_on_a_cross_origin_redirect(
    pair: tuple[Recorder, Recorder],
) -> None:
    registry, store = pair
    with httpx.Client(follow_redirects=True) as http:
        answer = http.get(
            f"{registry.base}/v2/acme/m/blobs/{DIGEST}",
            headers={"Authorization": "Bearer secret-token"},
        )
    assert answer.content == BLOB
    assert registry.seen[0]["authorization"] == "Bearer secret-token"
    assert "authorization" not in store.seen[0]
