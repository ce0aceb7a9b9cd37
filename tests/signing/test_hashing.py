"""The hashing engine: digests, serialisation rules, symlinks, ignore paths, parallelism."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.errors import HashingError, ModelPathError, UnsafePathError
from signing.hashing import HashOptions, hash_model
from signing.manifest import Serialization
from tests.support.signing_factories import NESTED_MODEL, make_model


def _expected_files(
    files: dict[str, bytes] | object, algorithm: str = "sha256"
) -> dict[str, bytes]:
    assert isinstance(files, dict)
    make = {
        "sha256": lambda d: hashlib.sha256(d).digest(),
        "blake2b": lambda d: hashlib.blake2b(d).digest(),
        "blake3": lambda d: blake3.blake3(d).digest(),
    }[algorithm]
    return {name: make(data) for name, data in files.items()}


@pytest.mark.parametrize("algorithm", ["sha256", "blake2b", "blake3"])
def test_files_method_digests_every_file(tmp_path: Path, algorithm: str) -> None:
    make_model(tmp_path)
    manifest = hash_model(tmp_path, Serialization.files(algorithm))
    assert manifest.digests() == _expected_files(dict(NESTED_MODEL), algorithm)
    assert {r.algorithm for r in manifest.resources} == {algorithm}
    assert manifest.model_name == tmp_path.name


def test_shards_method_cuts_files_and_skips_empty_ones(tmp_path: Path) -> None:
    data = os.urandom(25)
    make_model(tmp_path, {"f.bin": data, "empty": b""})
    manifest = hash_model(tmp_path, Serialization.shards(10))
    assert [r.name for r in manifest.resources] == ["f.bin:0:10", "f.bin:10:20", "f.bin:20:25"]
    assert manifest.digests()["f.bin:10:20"] == hashlib.sha256(data[10:20]).digest()
    assert {r.algorithm for r in manifest.resources} == {"sha256-sharded-10"}


def test_single_file_model_is_named_dot(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx")
    manifest = hash_model(path)
    assert [r.name for r in manifest.resources] == ["."]
    assert manifest.model_name == "model.onnx"


@pytest.mark.parametrize("workers", [1, 2, 5])
@pytest.mark.parametrize("buffer_size", [64 * 1024, 1 << 20])
def test_parallelism_and_buffers_do_not_change_digests(
    tmp_path: Path, workers: int, buffer_size: int
) -> None:
    data = os.urandom(300_000)
    make_model(tmp_path, {"big.bin": data, "small": b"x"})
    options = HashOptions(workers=workers, buffer_size=buffer_size)
    files = hash_model(tmp_path, Serialization.files(), options=options)
    assert files.digests()["big.bin"] == hashlib.sha256(data).digest()
    shards = hash_model(tmp_path, Serialization.shards(70_000), options=options)
    assert shards.digests()["big.bin:280000:300000"] == hashlib.sha256(data[280_000:]).digest()
    assert len(shards.resources) == 6


def test_ignore_paths_skip_files_and_whole_directories(tmp_path: Path) -> None:
    make_model(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    ser = Serialization.files(ignore_paths=["weights/deep", "config.json", ".git"])
    names = [r.name for r in hash_model(tmp_path, ser).resources]
    assert "config.json" not in names
    assert not any(n.startswith(("weights/deep", ".git")) for n in names)
    assert "weights/part-0.safetensors" in names


def test_ignored_directories_are_not_descended_into(tmp_path: Path) -> None:
    make_model(tmp_path, {"a.bin": b"a"})
    (tmp_path / "cache").mkdir()
    os.mkfifo(tmp_path / "cache" / "pipe")  # would block if it were opened
    (tmp_path / "cache" / "link").symlink_to("/etc/passwd")
    manifest = hash_model(tmp_path, Serialization.files(ignore_paths=["cache"]))
    assert manifest.file_names() == ("a.bin",)


def test_symlinks_are_refused_by_default(tmp_path: Path) -> None:
    make_model(tmp_path, {"a.bin": b"a"})
    (tmp_path / "b.bin").symlink_to("a.bin")
    with pytest.raises(ModelPathError, match="symbolic link"):
        hash_model(tmp_path)


def test_allowed_symlinks_inside_the_tree_hash_their_target(tmp_path: Path) -> None:
    make_model(tmp_path, {"blobs/a.bin": b"payload"})
    (tmp_path / "model.bin").symlink_to("blobs/a.bin")
    manifest = hash_model(tmp_path, Serialization.files(allow_symlinks=True))
    assert manifest.digests()["model.bin"] == hashlib.sha256(b"payload").digest()


def test_symlinks_out_of_the_tree_are_refused_even_when_allowed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    model = make_model(tmp_path / "model", {"a.bin": b"a"})
    (model / "leak.bin").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside the model"):
        hash_model(model, Serialization.files(allow_symlinks=True))


def test_symlinked_directories_are_refused(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m", {"d/a.bin": b"a"})
    (model / "alias").symlink_to("d")
    with pytest.raises(ModelPathError, match="directory"):
        hash_model(model, Serialization.files(allow_symlinks=True))


def test_special_files_are_refused(tmp_path: Path) -> None:
    make_model(tmp_path, {"a.bin": b"a"})
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ModelPathError, match="not a regular file"):
        hash_model(tmp_path)


def test_missing_model_path(tmp_path: Path) -> None:
    with pytest.raises(ModelPathError, match="does not exist"):
        hash_model(tmp_path / "nope")


def test_backslash_file_names_are_refused(tmp_path: Path) -> None:
    make_model(tmp_path, {"a\\b.bin": b"a"})
    with pytest.raises(UnsafePathError):
        hash_model(tmp_path)


def test_only_mode_hashes_listed_files_and_confines_them(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m")
    (tmp_path / "secret.txt").write_text("secret")
    manifest = hash_model(model, only={"config.json", "missing.bin"})
    assert manifest.file_names() == ("config.json",)
    with pytest.raises(UnsafePathError):
        hash_model(model, only={"../secret.txt"})
    (model / "up").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="parent directory is a symbolic link"):
        hash_model(model, only={"up/secret.txt"})


def test_a_file_that_changes_size_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_model(tmp_path, {"a.bin": b"0123456789"})
    import signing.hashing as engine

    real_units = engine._units

    def grow_then_units(files, serialization):  # type: ignore[no-untyped-def]
        (tmp_path / "a.bin").write_bytes(b"0123456789abc")
        return real_units(files, serialization)

    monkeypatch.setattr(engine, "_units", grow_then_units)
    with pytest.raises(HashingError, match="changed size"):
        hash_model(tmp_path)


_names = st.lists(
    st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=6).filter(lambda s: s not in (".", "..")),
    min_size=1,
    max_size=3,
).map("/".join)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    files=st.dictionaries(_names, st.binary(max_size=300), min_size=1, max_size=6),
    shard=st.integers(min_value=1, max_value=64),
)
def test_engine_agrees_with_plain_hashlib(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes], shard: int
) -> None:
    # Drop names that are a prefix directory of another (a file cannot also be a directory).
    names = sorted(files)
    files = {n: d for n, d in files.items() if not any(o.startswith(n + "/") for o in names)}
    root = make_model(tmp_path_factory.mktemp("model"), files)
    assert hash_model(root).digests() == _expected_files(files)
    shards = hash_model(root, Serialization.shards(shard), options=HashOptions(workers=3))
    for name, data in files.items():
        pieces = b"".join(
            hashlib.sha256(data[s : s + shard]).digest() for s in range(0, len(data), shard)
        )
        got = b"".join(
            shards.digests()[f"{name}:{s}:{min(s + shard, len(data))}"]
            for s in range(0, len(data), shard)
        )
        assert got == pieces
