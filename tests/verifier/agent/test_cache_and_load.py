"""The cache and the load path: re-verify, re-fetch, incremental updates, restarts, offline."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from freezegun import freeze_time

from signing import KeySigner, sign_model
from tests.verifier.agent.models import add_model, with_location
from tests.verifier.agent.world import World
from verifier.agent import Agent, AgentError, FileRecord
from verifier.agent._cache import blake3_of_file
from verifier.loading import MalformedModel, UnsafeExternalData

X = np.array([1, 2, 3, 4], dtype=np.float32)
ALIAS = "production"


def _blob(world: World, agent: Agent, name: str, version: str = "1.0.0") -> Path:
    record = agent.status()["aliases"][f"{world.repository}@{ALIAS}"]["current"]
    entry = next(f for f in record["files"] if f["name"] == name)
    return world.root / "cache" / "blobs" / "sha256" / entry["sha256"].removeprefix("sha256:")


def _swap(path: Path, data: bytes) -> None:
    """Replace a cached file (a new inode, as an attacker with write access would)."""
    tmp = path.with_name(path.name + ".evil")
    tmp.write_bytes(data)
    tmp.replace(path)


def test_weights_swapped_in_the_cache_are_detected_and_refetched(world: World) -> None:
    files = add_model(np.ones(4), external="model.onnx.data")
    world.release("1.0.0", files)
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    cached = _blob(world, agent, "model.onnx.data")
    evil = np.full(4, 100.0, dtype=np.float32).tobytes()
    assert len(evil) == len(files["model.onnx.data"])

    _swap(cached, evil)
    offline = world.agent(offline=True)
    with pytest.raises(AgentError) as refused:
        offline.load_session(world.repository, ALIAS)
    assert refused.value.check == "digest" and "model.onnx.data" in str(refused.value)

    _swap(cached, evil)
    session = agent.load_session(world.repository, ALIAS)  # online: fetched again
    assert session.run(None, {"x": X})[0].tolist() == (X + 1).tolist()
    assert cached.read_bytes() == files["model.onnx.data"]


def test_altered_cached_blob_is_fetched_again_by_the_next_pull(world: World) -> None:
    world.release("1.0.0", add_model(np.ones(4)) | {"README.md": b"shared " * 100})
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    readme = _blob(world, agent, "README.md")
    _swap(readme, b"x" * readme.stat().st_size)
    world.release("2.0.0", add_model(np.full(4, 2.0)) | {"README.md": b"shared " * 100})
    result = agent.pull(world.repository, ALIAS)
    model = len(world.published["2.0.0"].files["model.onnx"])
    assert (result.downloaded_bytes, result.reused_bytes) == (model + 700, 0)
    assert readme.read_bytes() == b"shared " * 100


def test_update_downloads_only_the_changed_file(world: World) -> None:
    files = {f"shard-{i}.dat": os.urandom(20_000) for i in range(9)}
    world.release("1.0.0", files | add_model(np.ones(4)))
    agent = world.agent()
    assert agent.pull(world.repository, ALIAS).changed
    changed = dict(files, **{"shard-3.dat": os.urandom(20_000)})
    world.release("1.1.0", changed | add_model(np.ones(4)))
    result = agent.pull(world.repository, ALIAS)
    assert result.downloaded_bytes == 20_000
    assert result.reused_bytes == sum(len(v) for v in files.values()) - 20_000 + len(
        add_model(np.ones(4))["model.onnx"]
    )


def test_state_survives_a_restart_and_works_offline(world: World) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    world.agent().pull(world.repository, ALIAS)
    world.fetcher.offline = True  # no network from here on
    restarted = world.agent(offline=True)
    session = restarted.load_session(world.repository, ALIAS)
    assert session.run(None, {"x": X})[0].tolist() == (X + 1).tolist()
    assert restarted.pull(world.repository, ALIAS).changed is False  # trusted copy, no network
    assert world.fetcher.requests[-1].endswith("acme.json")  # the last request was online


def test_offline_expiry_is_a_policy(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    world.agent().pull(world.repository, ALIAS)
    with freeze_time(timedelta(days=1, hours=1)):
        with pytest.raises(AgentError) as refused:
            world.agent(offline=True).load_session(world.repository, ALIAS)
        assert refused.value.check == "expired"
        lenient = world.agent(offline=True, grace=timedelta(hours=2))
        lenient.load_session(world.repository, ALIAS)
        assert "grace until" in caplog.text


def test_mirror_directory_refreshes_metadata_offline(world: World, tmp_path: Path) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    world.agent().pull(world.repository, ALIAS)
    with freeze_time(timedelta(hours=20)):
        world.tuf.publish()  # fresh metadata, same alias target
        mirror = tmp_path / "mirror"
        mirror.mkdir()
        for name, data in world.tuf.files.items():
            (mirror / name).write_bytes(data)
    with freeze_time(timedelta(days=1, hours=2)):  # the pulled metadata has expired...
        with pytest.raises(AgentError):
            world.agent(offline=True).load_session(world.repository, ALIAS)
        mirrored = world.agent(offline=True, mirror=mirror)
        mirrored.load_session(world.repository, ALIAS)  # ...the mirror's has not
        world.agent(offline=True).load_session(world.repository, ALIAS)  # and it was kept


def _plant(world: World, agent: Agent, files: dict[str, bytes]) -> None:
    """Make ``files`` the current version as a signed, hostile release would deliver them.

    The registry refuses these files at push (its header checks), so the release is
    simulated where it would land: signed by the trusted key (the bundle in the cache)
    and verified blobs under a current record. Only the loader stands in the way.
    """
    state = agent.state()
    blobs = world.root / "cache" / "blobs" / "sha256"
    source = world.root / "hostile"
    source.mkdir()
    records = []
    for name, data in files.items():
        (source / name).write_bytes(data)
        hexdigest = hashlib.sha256(data).hexdigest()
        (blobs / hexdigest).write_bytes(data)
        value = blake3_of_file(blobs / hexdigest)
        state.blobs[f"sha256:{hexdigest}"] = {"blake3": value, "size": len(data)}
        records.append(FileRecord(name, f"sha256:{hexdigest}", value, len(data)))
    bundle = sign_model(source, KeySigner(world.key)).bundle.to_bytes()  # type: ignore[arg-type]
    (blobs / hashlib.sha256(bundle).hexdigest()).write_bytes(bundle)
    track = state.track(f"{world.repository}@{ALIAS}")
    assert track.current is not None
    track.current = replace(
        track.current,
        files=tuple(records),
        bundles=("sha256:" + hashlib.sha256(bundle).hexdigest(),),
    )
    state.save(world.root / "cache" / "state.json")


@pytest.mark.parametrize("location", ["../model.onnx.data", "unsigned.data", "/etc/passwd"])
def test_external_data_outside_the_signed_files_is_refused(world: World, location: str) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    hostile = add_model(np.ones(4), external="model.onnx.data")
    hostile["model.onnx"] = with_location(hostile["model.onnx"], location)
    _plant(world, agent, hostile)
    with pytest.raises(UnsafeExternalData):
        agent.load_session(world.repository, ALIAS)


def test_safetensors_with_a_duplicate_tensor_name_is_refused(world: World) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    header = b'{"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, '
    header += b'"w": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}'
    duplicate = struct.pack("<Q", len(header)) + header + bytes(8)
    _plant(world, agent, {"weights.safetensors": duplicate})
    with pytest.raises(MalformedModel, match="duplicate"):
        agent.load_safetensors(world.repository, ALIAS, "weights.safetensors")
    assert json.loads((world.root / "cache" / "state.json").read_text())["format"] == 1


def test_interrupted_download_resumes_with_range(world: World) -> None:
    files = add_model(np.random.default_rng().random(4096))
    world.release("1.0.0", files)
    layer = world.published["1.0.0"].layers[0]
    blobs = world.root / "cache" / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    partial = blobs / (str(layer["digest"]).removeprefix("sha256:") + ".partial")
    half = files["model.onnx"][: len(files["model.onnx"]) // 2]
    agent = world.agent()

    # A wrong prefix proves the download resumed after it (and that the whole is checked).
    partial.write_bytes(b"\0" * len(half))
    with pytest.raises(AgentError) as caught:
        agent.pull(world.repository, ALIAS)
    assert caught.value.check == "digest" and not partial.exists()

    partial.write_bytes(half)  # the real first half: only the rest is fetched
    received: list[int] = []
    agent.pull(world.repository, ALIAS, progress=lambda n, _total: received.append(n))
    assert received[0] == len(half) and sum(received) == len(files["model.onnx"])


def test_cache_keeps_current_and_previous_only(world: World) -> None:
    agent = world.agent()
    digests = {}
    for number in (1, 2, 3):
        files = add_model(np.full(4, float(number)) + np.random.default_rng().random(4))
        published = world.release(f"{number}.0.0", files)
        agent.pull(world.repository, ALIAS)
        digests[number] = str(published.layers[0]["digest"]).removeprefix("sha256:")
    blobs = world.root / "cache" / "blobs" / "sha256"
    assert not (blobs / digests[1]).exists()
    assert (blobs / digests[2]).exists() and (blobs / digests[3]).exists()
    assert f"sha256:{digests[1]}" not in agent.state().blobs
    agent.load_session(world.repository, ALIAS)  # the signatures it needs were kept


def test_a_deleted_cached_file_is_fetched_again_online_only(world: World) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    cached = _blob(world, agent, "model.onnx")
    cached.unlink()
    with pytest.raises(AgentError) as caught:
        world.agent(offline=True).load_session(world.repository, ALIAS)
    assert caught.value.check == "offline"
    agent.load_session(world.repository, ALIAS)
    assert cached.is_file()
