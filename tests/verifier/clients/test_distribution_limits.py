"""A registry (or hub) that answers with endless bytes is refused early.

The server here is a hostile registry on loopback: it streams far more than any manifest or
JSON answer may hold, and counts what it managed to send before the client hung up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from verifier.clients.hub import MAX_ANSWER_BYTES, HubClient
from verifier.clients.registry import (
    MAX_JSON_BYTES,
    MAX_MANIFEST_BYTES,
    FetchError,
    ManifestTooLarge,
    RegistryClient,
)

ENDLESS_BYTES = 256 * 1024 * 1024
BLOCK = b"{" * (64 * 1024)


class _Hostile(BaseHTTPRequestHandler):
    sent = 0

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", str(ENDLESS_BYTES))
        self.end_headers()
        try:
            while type(self).sent < ENDLESS_BYTES:
                self.wfile.write(BLOCK)
                type(self).sent += len(BLOCK)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def hostile_registry() -> Iterator[str]:
    _Hostile.sent = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_endless_manifest_is_refused_without_reading_it(hostile_registry: str) -> None:
    with RegistryClient(hostile_registry) as client, pytest.raises(ManifestTooLarge) as refused:
        client.get_manifest("acme/model", "1.0.0")
    assert f"more than {MAX_MANIFEST_BYTES} bytes" in str(refused.value)
    assert refused.value.check == "fetch"
    # The client hung up long before the end (socket buffers let the server run a little ahead).
    assert _Hostile.sent < ENDLESS_BYTES // 4


@pytest.mark.parametrize(
    "ask",
    [
        lambda client: client.list_tags("acme/model"),
        lambda client: client.referrers("acme/model", "sha256:" + "0" * 64),
        lambda client: client.api("GET", "/api/v1/models"),
    ],
    ids=["tags", "referrers", "api"],
)
def test_an_endless_json_answer_is_refused(hostile_registry: str, ask) -> None:  # type: ignore[no-untyped-def]
    with RegistryClient(hostile_registry) as client, pytest.raises(FetchError) as refused:
        ask(client)
    assert f"more than {MAX_JSON_BYTES} bytes" in str(refused.value)
    assert _Hostile.sent < ENDLESS_BYTES // 4


def test_an_endless_hub_answer_is_refused() -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        while True:
            sent += len(BLOCK)
            yield BLOCK

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    with (
        HubClient("http://hub", transport=transport) as client,
        pytest.raises(FetchError) as refused,
    ):
        client.hub_key()
    assert f"more than {MAX_ANSWER_BYTES} bytes" in str(refused.value)
    assert sent <= MAX_ANSWER_BYTES + len(BLOCK)
