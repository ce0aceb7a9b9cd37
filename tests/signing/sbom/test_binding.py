"""Binding: a BOM is attached to a version only if it describes exactly that version's bytes."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from signing.hashing import hash_model
from signing.manifest import Serialization
from signing.sbom import (
    BomBindingError,
    BomDigestMismatch,
    MissingBomHashes,
    ValidatedBom,
    bind_bom,
    generate_bom,
    oms_root_digest,
    validate_bom,
)
from tests.signing.sbom.builders import ASSETS, make_model_dir


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def generated(tmp_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    result = generate_bom(make_model_dir(tmp_path / "m"))
    return json.loads(result.to_bytes()), dict(result.files)


def check(document: dict[str, Any]) -> ValidatedBom:
    return validate_bom(json.dumps(document).encode())


def test_binds_by_files_and_root(generated: tuple[dict[str, Any], dict[str, str]]) -> None:
    document, files = generated
    binding = bind_bom(check(document), files.items())
    assert binding.method == "files+root"
    assert binding.model_ref == "model"
    assert binding.file_count == 4


def test_the_order_of_the_version_files_does_not_matter(
    generated: tuple[dict[str, Any], dict[str, str]],
) -> None:
    document, files = generated
    assert bind_bom(check(document), reversed(list(files.items()))).method == "files+root"


def test_a_bom_for_other_bytes_names_the_first_difference(
    generated: tuple[dict[str, Any], dict[str, str]],
) -> None:
    document, files = generated
    files["model.onnx"] = sha(b"other bytes")
    with pytest.raises(BomDigestMismatch, match=r"file 'model\.onnx': the BOM says sha256 "):
        bind_bom(check(document), files.items())


def test_a_file_missing_from_the_bom(generated: tuple[dict[str, Any], dict[str, str]]) -> None:
    document, files = generated
    files["extra/tokenizer.json"] = sha(b"{}")
    with pytest.raises(
        BomDigestMismatch, match=r"'extra/tokenizer\.json' of the version is missing"
    ):
        bind_bom(check(document), files.items())


def test_a_file_the_version_does_not_have(generated: tuple[dict[str, Any], dict[str, str]]) -> None:
    document, files = generated
    del files["config.json"]
    with pytest.raises(BomDigestMismatch, match=r"lists 'config\.json', which is not a file"):
        bind_bom(check(document), files.items())


def test_a_bom_with_no_hashes_cannot_be_bound() -> None:
    # The specification's own ML-BOM example: valid, but it names no bytes.
    bom = validate_bom((ASSETS / "cyclonedx-spec" / "valid-machine-learning-1.6.json").read_bytes())
    with pytest.raises(MissingBomHashes):
        bind_bom(bom, [("model.onnx", sha(b"x"))])


def test_a_file_component_without_a_hash(generated: tuple[dict[str, Any], dict[str, str]]) -> None:
    document, files = generated
    del document["metadata"]["component"]["components"][0]["hashes"]
    with pytest.raises(MissingBomHashes, match=r"config\.json"):
        bind_bom(check(document), files.items())


def test_binds_by_root_digest_alone(generated: tuple[dict[str, Any], dict[str, str]]) -> None:
    document, files = generated
    del document["metadata"]["component"]["components"]
    assert bind_bom(check(document), files.items()).method == "root-digest"
    files["config.json"] = sha(b"changed")
    with pytest.raises(BomDigestMismatch, match="matches nothing of this version"):
        bind_bom(check(document), files.items())


def test_a_model_digest_that_contradicts_matching_files(
    generated: tuple[dict[str, Any], dict[str, str]],
) -> None:
    document, files = generated
    document["metadata"]["component"]["hashes"][0]["content"] = sha(b"not the root")
    with pytest.raises(BomDigestMismatch, match="model component's SHA-256"):
        bind_bom(check(document), files.items())


def test_a_root_digest_given_by_the_caller(
    generated: tuple[dict[str, Any], dict[str, str]],
) -> None:
    # A version signed with shards has a root digest that cannot be derived from file digests.
    document, files = generated
    del document["metadata"]["component"]["components"]
    sharded_root = sha(b"root over shard digests")
    document["metadata"]["component"]["hashes"][0]["content"] = sharded_root
    with pytest.raises(BomDigestMismatch):
        bind_bom(check(document), files.items())
    binding = bind_bom(check(document), files.items(), root_digest="sha256:" + sharded_root)
    assert binding.method == "root-digest"


def test_single_file_version_binds_by_the_files_sha256(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x0a" + bytes(100))
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "component": {
                "type": "machine-learning-model",
                "name": "m",
                "hashes": [{"alg": "SHA-256", "content": sha(path.read_bytes()).upper()}],
            }
        },
    }
    binding = bind_bom(check(document), [("model.onnx", sha(path.read_bytes()))])
    assert binding.method == "root-digest"


def test_top_level_file_components_are_used_when_the_model_has_none() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [
            {"type": "machine-learning-model", "name": "m", "bom-ref": "m"},
            {"type": "file", "name": "a.bin", "hashes": [{"alg": "SHA-256", "content": sha(b"a")}]},
            {"type": "library", "name": "numpy"},
        ],
    }
    binding = bind_bom(check(document), [("a.bin", sha(b"a"))])
    assert (binding.method, binding.model_ref) == ("files", "m")


def test_a_file_listed_twice_in_the_bom() -> None:
    file = {"type": "file", "name": "a.bin", "hashes": [{"alg": "SHA-256", "content": sha(b"a")}]}
    other = copy.deepcopy(file) | {"hashes": [{"alg": "SHA-256", "content": sha(b"b")}]}
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [{"type": "machine-learning-model", "name": "m"}, file, other],
    }
    with pytest.raises(BomDigestMismatch, match="twice"):
        bind_bom(check(document), [("a.bin", sha(b"a"))])


@pytest.mark.parametrize("models", [0, 2])
def test_the_bom_must_have_exactly_one_model(models: int) -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "components": [
            {
                "type": "machine-learning-model",
                "name": f"m{i}",
                "hashes": [{"alg": "SHA-256", "content": sha(b"a")}],
            }
            for i in range(models)
        ]
        + [{"type": "library", "name": "x"}],
    }
    with pytest.raises(BomBindingError, match="model component"):
        bind_bom(check(document), [("a.bin", sha(b"a"))])


def test_bad_version_input_is_a_programming_error(
    generated: tuple[dict[str, Any], dict[str, str]],
) -> None:
    document, _ = generated
    bom = check(document)
    with pytest.raises(ValueError, match="listed twice"):
        bind_bom(bom, [("a", sha(b"a")), ("a", sha(b"a"))])
    with pytest.raises(ValueError, match="not a SHA-256"):
        bind_bom(bom, [("a", "abc")])
    with pytest.raises(ValueError, match="at least one file"):
        bind_bom(bom, [])


def test_oms_root_digest_follows_model_signing_order(tmp_path: Path) -> None:
    # "a/y" sorts before "a.b/x" by path components (model_signing sorts PurePosixPath).
    files = {"a.b/x": b"1", "a/y": b"2", "b": b"3", "a/z/deeper": b"4"}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    ours = oms_root_digest((n, sha(d)) for n, d in files.items())
    engine = hash_model(tmp_path, Serialization.files("sha256")).root_digest().hex()
    assert ours == engine
