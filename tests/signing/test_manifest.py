"""Manifests: names, ordering, serialization parameters, diffs."""

from __future__ import annotations

import hashlib

import pytest

from signing.errors import StatementFormatError, UnsafePathError
from signing.manifest import (
    HashAlgorithm,
    Manifest,
    Method,
    Resource,
    Serialization,
    check_name,
    normalise_ignore_path,
    split_shard_name,
)


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "a/../../b",
        "/etc/passwd",
        "a//b",
        "./a",
        "a/./b",
        "a/",
        "",
        "a\\..\\b",
        "a\x00b",
        "..",
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        check_name(name)


@pytest.mark.parametrize("name", ["a", "a/b/c.safetensors", ".hidden", "x:y", "ünïcode/名前", "."])
def test_normalised_names_pass(name: str) -> None:
    assert check_name(name) == name


def test_single_file_name_only_where_allowed() -> None:
    with pytest.raises(UnsafePathError):
        check_name(".", allow_single_file=False)


def test_shard_names_split_from_the_right() -> None:
    assert split_shard_name("dir/a:b.bin:0:10") == ("dir/a:b.bin", 0, 10)
    for bad in ("a.bin:0", "a.bin:x:1", "a.bin:5:5", "a.bin:6:5", "../a:0:1", "a:-1:3"):
        with pytest.raises((StatementFormatError, UnsafePathError)):
            split_shard_name(bad)


def test_ignore_paths_are_normalised() -> None:
    assert normalise_ignore_path("./a/b/") == "a/b"
    assert normalise_ignore_path("../outside") is None
    assert normalise_ignore_path("/abs") is None
    assert normalise_ignore_path(".") is None
    ser = Serialization.files(ignore_paths=["b", "./a/", "b", "../x"])
    assert ser.ignore_paths == ("a", "b")


def test_serialization_json_round_trip_and_model_signing_floats() -> None:
    ser = Serialization.shards(1000, "blake2b", ignore_paths=["model.sig"])
    assert Serialization.from_json(ser.to_json()) == ser
    # model_signing writes shard_size through a protobuf Struct: 1000.0.
    data = {
        "method": "shards",
        "hash_type": "sha256",
        "shard_size": 1000.0,
        "allow_symlinks": False,
    }
    assert Serialization.from_json(data).shard_size == 1000
    for bad in (
        {"method": "shards", "hash_type": "sha256", "shard_size": 0.5, "allow_symlinks": False},
        {"method": "tensors", "hash_type": "sha256", "allow_symlinks": False},
        {"method": "files", "hash_type": "md5", "allow_symlinks": False},
        {"method": "files", "hash_type": "sha256", "allow_symlinks": 1},
        {"method": "files", "hash_type": "sha256", "ignore_paths": "model.sig"},
    ):
        with pytest.raises(StatementFormatError):
            Serialization.from_json(bad)


def test_resource_algorithm_names_match_model_signing() -> None:
    assert Serialization.files("blake3").resource_algorithm == "blake3"
    shards = Serialization.shards(1_000_000, "sha256")
    assert shards.resource_algorithm == "sha256-sharded-1000000"
    assert shards.accepts_resource_algorithm("sha256")
    assert not Serialization.files().accepts_resource_algorithm("sha256-sharded-1000000")


def test_manifest_order_follows_path_components() -> None:
    # "a/y" sorts before "a.b/x" by components, as model_signing sorts PurePosixPath keys.
    digests = {"a.b/x": b"1" * 32, "a/y": b"2" * 32, "b": b"3" * 32}
    manifest = Manifest.build("m", Serialization(), digests)
    assert [r.name for r in manifest.resources] == ["a/y", "a.b/x", "b"]
    shards = Manifest.build(
        "m",
        Serialization.shards(10),
        {"f:10:20": b"a" * 32, "f:0:10": b"b" * 32, "f:20:25": b"c" * 32},
    )
    assert [r.name for r in shards.resources] == ["f:0:10", "f:10:20", "f:20:25"]


def test_root_digest_is_over_the_listed_order() -> None:
    resources = (Resource("b", "sha256", b"\x02" * 32), Resource("a", "sha256", b"\x01" * 32))
    manifest = Manifest("m", Serialization(), resources)
    assert manifest.root_digest() == hashlib.sha256(b"\x02" * 32 + b"\x01" * 32).digest()


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(StatementFormatError):
        Manifest("m", Serialization(), (Resource("a", "sha256", b"1" * 32),) * 2)


def test_diff_reads_extra_missing_changed() -> None:
    expected = Manifest.build(
        "m", Serialization(), {"a": b"1" * 32, "b": b"2" * 32, "c": b"3" * 32}
    )
    actual = Manifest.build("m", Serialization(), {"a": b"1" * 32, "b": b"X" * 32, "d": b"4" * 32})
    diff = expected.diff(actual)
    assert (diff.changed, diff.extra, diff.missing) == (("b",), ("d",), ("c",))
    assert diff.summary() == "changed: b; extra: d; missing: c"
    assert expected != actual
    assert not expected.diff(expected)
    many = Manifest.build("m", Serialization(), {f"f{i}": b"0" * 32 for i in range(9)})
    assert "(+4 more)" in Manifest("m", Serialization()).diff(many).summary()


def test_equality_ignores_model_name_and_order() -> None:
    one = Manifest.build("one", Serialization(), {"a": b"1" * 32, "b": b"2" * 32})
    two = Manifest("two", Serialization(), tuple(reversed(one.resources)))
    assert one == two
    assert hash(one) == hash(two)


def test_hash_algorithm_parse() -> None:
    assert HashAlgorithm.parse("blake2") is HashAlgorithm.BLAKE2B
    assert HashAlgorithm.BLAKE2B.digest_size == 64
    assert Method("shards") is Method.SHARDS
    with pytest.raises(StatementFormatError):
        HashAlgorithm.parse("sha1")


def test_serialization_rejects_inconsistent_parameters() -> None:
    with pytest.raises(ValueError):
        Serialization(Method.SHARDS)
    with pytest.raises(ValueError):
        Serialization(Method.FILES, shard_size=10)
