"""Small helpers shared by the registry tests."""

from __future__ import annotations

import base64
import hashlib


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def basic(secret: str, user: str = "anyone") -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def safetensors_bytes(payload: bytes = b"\0" * 16, dtype: str = "U8") -> bytes:
    """A valid safetensors file holding ``payload`` as one 1-D tensor."""
    import json
    import struct

    header = json.dumps(
        {"w": {"dtype": dtype, "shape": [len(payload)], "data_offsets": [0, len(payload)]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + payload


def onnx_bytes(payload_size: int = 1024) -> bytes:
    """A real, loadable ONNX model carrying ``payload_size`` random bytes of weights."""
    import os

    from onnx import TensorProto, helper

    weights = helper.make_tensor(
        "w", TensorProto.UINT8, [payload_size], os.urandom(payload_size), raw=True
    )
    graph = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["y"])],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [payload_size])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10  # onnx 1.23 writes IR 14 by default; onnxruntime reads up to 13
    return bytes(model.SerializeToString())


def issue_token(database_url: str, namespace: str = "acme", scopes: str = "admin") -> str:
    """A token made straight through the service, for fixtures that outlive ``make_token``."""
    from tests.support.tokens import issue

    return issue(database_url, namespace, scopes, expires_in=None).secret
