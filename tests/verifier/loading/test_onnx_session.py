"""load_onnx_session: correct output from verified bytes, and every refusal before onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.verifier.loading.helpers import WEIGHTS, X, sha256, single_file, with_external
from verifier.errors import VerificationError
from verifier.loading import (
    DigestMismatch,
    MalformedModel,
    MissingLoadInput,
    ProviderNotAllowed,
    SessionConfigRefused,
    SessionSettings,
    UnsafeExternalData,
    external_references,
    load_onnx_session,
)
from verifier.loading import _session as session_module

EXPECTED = (X + WEIGHTS).tolist()


def _run(session: Any) -> list[float]:
    return list(session.run(None, {"x": X})[0].tolist())


@pytest.fixture
def no_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if onnxruntime is asked to build a session at all."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("onnxruntime saw the model")

    monkeypatch.setattr(session_module.ort, "InferenceSession", refuse)


def _flip(path: Path, offset: int = -1) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_single_file_inference(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    session = load_onnx_session(files, digests, model="model.onnx")
    assert _run(session) == EXPECTED
    assert session.digests == digests
    assert session.providers == ["CPUExecutionProvider"]


def test_external_data_inference(tmp_path: Path) -> None:
    files, digests = with_external(tmp_path)
    session = load_onnx_session(files, digests, model="model.onnx")
    assert _run(session) == EXPECTED
    assert session.digests == digests


def test_blake3_digests(tmp_path: Path) -> None:
    import blake3

    files, _ = with_external(tmp_path)
    digests = {n: "blake3:" + blake3.blake3(p.read_bytes()).hexdigest() for n, p in files.items()}
    assert _run(load_onnx_session(files, digests, model="model.onnx")) == EXPECTED


def test_unreferenced_files_are_not_read(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    files["config.json"] = tmp_path / "absent.json"  # never opened
    digests["config.json"] = "sha256:" + "0" * 64
    session = load_onnx_session(files, digests, model="model.onnx")
    assert set(session.digests) == {"model.onnx"}


@pytest.mark.usefixtures("no_runtime")
def test_flipped_byte_in_model_rejected(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    _flip(files["model.onnx"])
    with pytest.raises(DigestMismatch) as caught:
        load_onnx_session(files, digests, model="model.onnx")
    assert caught.value.name == "model.onnx"
    assert isinstance(caught.value, VerificationError)
    assert caught.value.exit_code == 19


@pytest.mark.usefixtures("no_runtime")
def test_flipped_byte_in_external_data_rejected(tmp_path: Path) -> None:
    files, digests = with_external(tmp_path)
    _flip(files["weights.bin"], 5)
    with pytest.raises(DigestMismatch) as caught:
        load_onnx_session(files, digests, model="model.onnx")
    assert caught.value.name == "weights.bin"


@pytest.mark.usefixtures("no_runtime")
@pytest.mark.parametrize(
    "location",
    [
        "../weights.bin",
        "sub/../../weights.bin",
        "/tmp/weights.bin",
        "./weights.bin",
        "unsigned.bin",
        "*/_ORT_MEM_ADDR_/*",
        "weights\\bin",
    ],
)
def test_unsafe_external_location_rejected(tmp_path: Path, location: str) -> None:
    files, digests = with_external(tmp_path / "m", location=location)
    # Make every escape resolvable on disk, so only the check can stop it.
    (tmp_path / "weights.bin").write_bytes(files["weights.bin"].read_bytes())
    (tmp_path / "m" / "unsigned.bin").write_bytes(files["weights.bin"].read_bytes())
    files["unsigned.bin"] = tmp_path / "m" / "unsigned.bin"  # a path, but no signature
    with pytest.raises(UnsafeExternalData) as caught:
        load_onnx_session(files, digests, model="model.onnx")
    assert caught.value.exit_code == 20


@pytest.mark.usefixtures("no_runtime")
def test_external_offset_past_the_file_rejected(tmp_path: Path) -> None:
    files, _ = with_external(tmp_path)
    proto = onnx.load(files["model.onnx"], load_external_data=False)
    for entry in proto.graph.initializer[0].external_data:
        if entry.key == "offset":
            entry.value = "4096"
    files["model.onnx"].write_bytes(proto.SerializeToString())
    digests = {n: sha256(p) for n, p in files.items()}
    with pytest.raises(UnsafeExternalData, match="outside"):
        load_onnx_session(files, digests, model="model.onnx")


@pytest.mark.usefixtures("no_runtime")
def test_signed_external_file_without_a_path_refused(tmp_path: Path) -> None:
    files, digests = with_external(tmp_path)
    del files["weights.bin"]
    with pytest.raises(MissingLoadInput):
        load_onnx_session(files, digests, model="model.onnx")


@pytest.mark.usefixtures("no_runtime")
@pytest.mark.parametrize("digest", ["", "sha256:abc", "md5:" + "0" * 32, "sha256:" + "z" * 64])
def test_unusable_digest_refused(tmp_path: Path, digest: str) -> None:
    files, _ = single_file(tmp_path)
    with pytest.raises(MissingLoadInput):
        load_onnx_session(files, {"model.onnx": digest}, model="model.onnx")


@pytest.mark.usefixtures("no_runtime")
def test_malformed_model_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x0a\xff\xff\xff\xff\x0f")  # a field far longer than the file
    with pytest.raises(MalformedModel):
        load_onnx_session({"model.onnx": path}, {"model.onnx": sha256(path)}, model="model.onnx")


def test_working_directory_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, digests = with_external(tmp_path / "signed")
    decoy = tmp_path / "cwd"
    with_external(decoy, weights=np.full(8, 1000.0, dtype=np.float32))
    monkeypatch.chdir(decoy)  # holds model.onnx and weights.bin with other weights
    session = load_onnx_session(files, digests, model="model.onnx")
    assert _run(session) == EXPECTED


@pytest.mark.parametrize("layout", ["single", "external"])
def test_file_swapped_between_verify_and_load_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """The runtime reads the sealed copy: rewriting the files right before it runs is harmless."""
    build = single_file if layout == "single" else with_external
    files, digests = build(tmp_path / "signed")
    evil = build(tmp_path / "evil", np.full(8, -50.0, dtype=np.float32))[0]
    real = ort.InferenceSession
    swapped: list[str] = []

    def swap_then_build(*args: Any, **kwargs: Any) -> Any:
        for name, path in files.items():
            evil[name].replace(path)
            swapped.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module.ort, "InferenceSession", swap_then_build)
    session = load_onnx_session(files, digests, model="model.onnx")
    assert swapped == list(files)
    assert any(sha256(path) != digests[name] for name, path in files.items())
    assert _run(session) == EXPECTED


def test_session_options_are_not_accepted(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    options = ort.SessionOptions()
    options.add_initializer("w", ort.OrtValue.ortvalue_from_numpy(np.zeros(8, np.float32)))
    with pytest.raises(SessionConfigRefused):
        load_onnx_session(files, digests, model="model.onnx", settings=options)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        load_onnx_session(files, digests, model="model.onnx", sess_options=options)  # type: ignore[call-arg]


def test_session_cannot_be_rebuilt_or_given_initializers(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    session = load_onnx_session(files, digests, model="model.onnx")
    for name in (
        "add_initializer",
        "register_custom_ops_library",
        "set_providers",
        "get_session_options",
        "sess_options",
    ):
        assert not hasattr(session, name)
    # Even the wrapped onnxruntime session holds no options or path to rebuild from.
    inner = session._VerifiedSession__session  # type: ignore[attr-defined]
    assert inner._sess_options is None
    assert inner._model_path is None and inner._model_bytes is None
    assert _run(session) == EXPECTED
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime's own error types
        inner.set_providers(["CPUExecutionProvider"])


@pytest.mark.usefixtures("no_runtime")
def test_disallowed_execution_provider_refused(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    with pytest.raises(ProviderNotAllowed, match="allow-list"):
        load_onnx_session(files, digests, model="model.onnx", providers=["AzureExecutionProvider"])
    with pytest.raises(ProviderNotAllowed, match="not available"):
        load_onnx_session(
            files,
            digests,
            model="model.onnx",
            providers=["CUDAExecutionProvider"],
            allowed_providers=["CUDAExecutionProvider"],
        )
    with pytest.raises(ProviderNotAllowed, match="options"):
        load_onnx_session(
            files,
            digests,
            model="model.onnx",
            providers=[("CPUExecutionProvider", {})],  # type: ignore[list-item]
        )
    with pytest.raises(ProviderNotAllowed):
        load_onnx_session(files, digests, model="model.onnx", providers="CPUExecutionProvider")


@pytest.mark.usefixtures("no_runtime")
def test_config_from_model_environment_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, digests = single_file(tmp_path)
    monkeypatch.setenv("ORT_LOAD_CONFIG_FROM_MODEL", "1")
    with pytest.raises(SessionConfigRefused):
        load_onnx_session(files, digests, model="model.onnx")


def test_settings_apply(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    settings = SessionSettings(optimization="disable", intra_op_threads=1, inter_op_threads=1)
    assert (
        _run(load_onnx_session(files, digests, model="model.onnx", settings=settings)) == EXPECTED
    )


def _external(name: str, location: str) -> TensorProto:
    tensor = numpy_helper.from_array(np.zeros(2, np.float32), name)
    onnx.external_data_helper.set_external_data(tensor, location, offset=0, length=8)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    return tensor


def test_external_references_found_everywhere() -> None:
    """Initializers, sparse initializers, node attributes, subgraphs and functions."""
    then_graph = helper.make_graph(
        [helper.make_node("Constant", [], ["t"], value=_external("in_then", "then.bin"))],
        "then",
        [],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])],
    )
    sparse = helper.make_sparse_tensor(
        _external("sparse_values", "sparse.bin"),
        numpy_helper.from_array(np.array([0, 1], np.int64), "sparse_indices"),
        [4],
    )
    function = helper.make_function(
        "custom",
        "F",
        [],
        ["o"],
        [helper.make_node("Constant", [], ["o"], value=_external("in_function", "function.bin"))],
        [helper.make_opsetid("", 17)],
    )
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["c"], value=_external("in_attribute", "attr.bin")),
            helper.make_node("If", ["cond"], ["t"], then_branch=then_graph, else_branch=then_graph),
        ],
        "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2])],
        [_external("initializer", "init.bin")],
        sparse_initializer=[sparse],
    )
    model = helper.make_model(graph, functions=[function])
    found = {
        (r.tensor, r.location) for r in external_references(memoryview(model.SerializeToString()))
    }
    assert found == {
        ("initializer", "init.bin"),
        ("sparse_values", "sparse.bin"),
        ("in_attribute", "attr.bin"),
        ("in_then", "then.bin"),
        ("in_function", "function.bin"),
    }
