"""Verified loaders: an onnxruntime session or safetensors tensors from verified bytes only.

Every file is copied into a sealed memory file, hashed there, and read by the
runtime from that sealed copy, so the bytes loaded are the bytes verified and a
file swapped on disk afterwards changes nothing. ONNX external data is checked
(relative, signed, in bounds) before onnxruntime sees the model and supplied
from memory; the loader owns onnxruntime's session options. See ADR 0005.

Example::

    >>> import hashlib, pathlib, tempfile
    >>> import numpy as np
    >>> from onnx import TensorProto, helper
    >>> from verifier.loading import load_onnx_session
    >>> node = helper.make_node("Relu", ["x"], ["y"])
    >>> graph = helper.make_graph(
    ...     [node], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    >>> proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    >>> proto.ir_version = 10
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.onnx"
    >>> _ = path.write_bytes(proto.SerializeToString())
    >>> digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    >>> session = load_onnx_session(
    ...     {"model.onnx": path}, {"model.onnx": digest}, model="model.onnx")
    >>> session.run(None, {"x": np.array([-1.0, 2.0], dtype=np.float32)})[0].tolist()
    [0.0, 2.0]
"""

from verifier.loading._leased import LeasedFile, lease_and_verify
from verifier.loading._sealed import SealedFile, seal_and_verify
from verifier.loading._session import (
    DEFAULT_PROVIDERS,
    SessionSettings,
    VerifiedSession,
    load_onnx_session,
)
from verifier.loading._tensors import load_safetensors
from verifier.loading.errors import (
    DigestMismatch,
    LeaseBroken,
    LoadError,
    MalformedModel,
    MissingLoadInput,
    ProviderNotAllowed,
    SessionConfigRefused,
    UnsafeExternalData,
)
from verifier.loading.external import ExternalReference, external_references

__all__ = [
    "DEFAULT_PROVIDERS",
    "DigestMismatch",
    "ExternalReference",
    "LeaseBroken",
    "LeasedFile",
    "LoadError",
    "MalformedModel",
    "MissingLoadInput",
    "ProviderNotAllowed",
    "SealedFile",
    "SessionConfigRefused",
    "SessionSettings",
    "UnsafeExternalData",
    "VerifiedSession",
    "external_references",
    "lease_and_verify",
    "load_onnx_session",
    "load_safetensors",
    "seal_and_verify",
]
