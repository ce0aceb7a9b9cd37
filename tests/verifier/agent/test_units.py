"""Pure-logic pieces of the agent: no server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import numpy as np
import pytest

from verifier.agent import AgentConfig, AgentError, AgentState, ExpiryPolicy
from verifier.agent.errors import TrustRootInvalid
from verifier.agent.fetchers import RegistryFetcher
from verifier.agent.freshness import MetadataStore, check_trust_root
from verifier.cli.agent import _describe, _grace
from verifier.trust_policy_file import TrustPolicy


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_token_goes_to_the_registry_origin_only(echo_server: tuple[str, list[str | None]]) -> None:
    url, seen = echo_server
    to_registry = RegistryFetcher(url, "secret")
    assert b"".join(to_registry.fetch(f"{url}/tuf/timestamp.json")) == b"{}"
    elsewhere = RegistryFetcher("http://registry.invalid", "secret")
    assert b"".join(elsewhere.fetch(f"{url}/tuf/timestamp.json")) == b"{}"
    assert seen == ["Bearer secret", None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", timedelta(0)), ("90m", timedelta(minutes=90)), ("72h", timedelta(hours=72)),
     ("3d", timedelta(days=3)), ("45", timedelta(seconds=45))],
)  # fmt: skip
def test_grace_durations(text: str, expected: timedelta) -> None:
    assert _grace(text) == expected


@pytest.mark.parametrize("text", ["-1h", "3w", "h", "1.5h", ""])
def test_bad_grace_durations(text: str) -> None:
    with pytest.raises(click.BadParameter):
        _grace(text)


def test_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        ExpiryPolicy(timedelta(seconds=-1))


def test_unreadable_state_is_a_storage_failure(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(AgentError) as caught:
        AgentState.load(tmp_path / "state.json")
    assert caught.value.check == "storage"
    (tmp_path / "state.json").write_text('{"format": 99}')
    with pytest.raises(AgentError, match="unknown state format"):
        AgentState.load(tmp_path / "state.json")


def test_state_round_trip_and_last_known_good(tmp_path: Path) -> None:
    from verifier.agent import FileRecord, VersionRecord

    def record(version: str) -> VersionRecord:
        files = (FileRecord("m.onnx", "sha256:" + "a" * 64, "blake3:" + "b" * 64, 3),)
        return VersionRecord(version, f"sha256:{version}", files, ("k",), "2030-01-01T00:00:00Z",
                             "2026-01-01T00:00:00Z")  # fmt: skip

    state = AgentState(registry="http://r")
    state.promote("a/m@p", record("1"))
    state.promote("a/m@p", record("2"))
    state.fail("a/m@p", "rollback", "older metadata")
    state.save(tmp_path / "state.json")
    loaded = AgentState.load(tmp_path / "state.json")
    track = loaded.track("a/m@p")
    assert track.current == record("2") and track.previous == record("1")
    assert track.last_failure is not None and track.last_failure.reason == "rollback"
    assert not list(tmp_path.glob(".state.json.*"))  # no temporary file left behind


def test_metadata_store_swaps_whole_copies(tmp_path: Path) -> None:
    store = MetadataStore(tmp_path)
    first = store.trusted()
    (first / "timestamp.json").write_text("1")
    staged = store.stage()
    (staged / "timestamp.json").unlink()
    (staged / "timestamp.json").write_text("2")  # replaced, as ngclient does
    assert (first / "timestamp.json").read_text() == "1"  # the trusted copy is untouched
    store.commit(staged)
    assert (store.trusted() / "timestamp.json").read_text() == "2"
    assert not first.exists()
    crashed = store.stage()  # a pull that died mid-refresh
    store.sweep()
    assert not crashed.exists() and (store.trusted() / "timestamp.json").exists()


def test_unknown_reason_code_is_a_bug() -> None:
    with pytest.raises(ValueError):
        AgentError("because", "no such reason")


@pytest.mark.parametrize("form", ["relative", "symlink", "dotdot"])
def test_metadata_store_keeps_the_trusted_copy_whatever_the_root_looks_like(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """Copies are told apart by name: ``glob`` output and the resolved link never mix."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    root = {
        "relative": Path("real"),
        "symlink": tmp_path / "link",
        "dotdot": tmp_path / "real" / ".." / "real",
    }[form]
    store = MetadataStore(root)
    first = store.trusted()
    (first / "root.json").write_text("trusted")
    store.sweep()
    assert (store.trusted() / "root.json").read_text() == "trusted"
    staged = store.stage()
    store.commit(staged)
    store.sweep()
    assert (store.trusted() / "root.json").read_text() == "trusted"
    assert [p.name for p in (tmp_path / "real").glob("tuf.*")] == [staged.name]


def test_agent_config_resolves_its_paths_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    policy = TrustPolicy(())
    for typed in (Path("link"), Path("~/link"), tmp_path / "link", tmp_path / "real"):
        config = AgentConfig(cache_dir=typed, trust_root=b"", trust_policy=policy, mirror=typed)
        assert config.cache_dir == config.mirror == tmp_path / "real"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"version: 1\nnamespaces: []\n", "it is not JSON (it looks like a trust policy)"),
        (b"\x93NUMPY", "it is not JSON"),
        (b'{"signed": {}}', "it is JSON, but not TUF metadata (no signed._type)"),
        (b'{"signed": {"_type": "timestamp"}, "signatures": []}', "it is TUF timestamp metadata"),
        (b'{"signed": {"_type": "root"}, "signatures": []}', "it does not parse as root metadata"),
    ],
)
def test_a_trust_root_that_is_not_tuf_root_metadata(content: bytes, why: str) -> None:
    with pytest.raises(TrustRootInvalid) as caught:
        check_trust_root(content, "root.yaml")
    message = str(caught.value)
    assert message.startswith(f"root.yaml is not a TUF root metadata file: {why}")
    assert "expected the registry's TUF root.json" in message
    assert caught.value.exit_code == 3 and caught.value.check == "trust-root"


def test_run_output_previews_are_short_and_json_safe() -> None:
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    values[0, 1] = np.nan
    described = _describe("logits", values)
    assert described == {
        "name": "logits",
        "shape": [3, 4],
        "dtype": "float32",
        "size": 12,
        "preview": [0.0, "nan", 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    }
    json.dumps(described, allow_nan=False)  # strict JSON
    labels = _describe("label", np.array(["cat", "dog"]))
    assert (labels["dtype"], labels["preview"]) == ("<U3", ["cat", "dog"])
