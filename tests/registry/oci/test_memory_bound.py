"""Push-time file checks stay in bounded memory, whatever the layer's size.

A real ``custody serve`` receives a 256 MiB ONNX model (a valid one: one
initializer holding all the bytes in ``raw_data``) and a 128 MiB safetensors
file, then manifests naming them, which run every push-time check. The server's
resident memory is sampled during one manifest push and during three at once
(psutil, and the kernel's own peak counter, reset first, where it can be); the
increase must stay under :data:`BOUND`. Reading the ONNX layer whole, as the
checks once did, costs more than twice its size. The files are written and
uploaded in pieces, so the test process stays small too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import numpy as np
import onnx
import psutil
import pytest
from onnx import TensorProto, helper

from bench.crash_soak import OCI_MANIFEST, model_manifest
from tests.support.live import CUSTODY, cli_env, running_server

MIB = 1024 * 1024
BOUND = 96 * MIB
ONNX_BYTES = 256 * MIB
SAFETENSORS_BYTES = 128 * MIB
_PIECE = 4 * MIB


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, body: bytes) -> bytes:
    return _key(number, 2) + _varint(len(body)) + body


def write_big_onnx(path: Path, data_bytes: int, location: str | None = None) -> str:
    """A valid ``Y = Identity(W)`` model whose float initializer ``W`` holds ``data_bytes``.

    Written field by field (protobuf lengths are known up front), so the model is
    never held in memory. With ``location``, ``W`` also lists external data there.
    Returns the file's sha256 digest.
    """
    count = data_bytes // 4
    tensor = TensorProto(dims=[count], data_type=TensorProto.FLOAT, name="W")
    if location is not None:
        tensor.data_location = TensorProto.EXTERNAL
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", location
    head = tensor.SerializeToString() + _key(9, 2) + _varint(count * 4)
    node = helper.make_node("Identity", ["W"], ["Y"]).SerializeToString()
    output = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [count]).SerializeToString()
    initializer_length = len(head) + count * 4
    graph_head = _field(1, node) + _field(2, b"big") + _key(5, 2) + _varint(initializer_length)
    graph_tail = _field(12, output)
    graph_length = len(graph_head) + initializer_length + len(graph_tail)
    opset = helper.make_opsetid("", 17).SerializeToString()
    model_head = (
        _key(1, 0) + _varint(10) + _field(2, b"custody-tests") + _field(8, opset)
        + _key(7, 2) + _varint(graph_length) + graph_head + head
    )  # fmt: skip
    hasher = hashlib.sha256()
    block = np.arange(_PIECE // 4, dtype=np.float32).tobytes()
    with path.open("wb") as handle:
        for piece in _pieces(model_head, block, count * 4, graph_tail):
            hasher.update(piece)
            handle.write(piece)
    return "sha256:" + hasher.hexdigest()


def _pieces(head: bytes, block: bytes, size: int, tail: bytes) -> Iterator[bytes]:
    yield head
    left = size
    while left:
        piece = block[: min(len(block), left)]
        yield piece
        left -= len(piece)
    yield tail


def write_big_safetensors(path: Path, data_bytes: int) -> str:
    header = json.dumps(
        {
            "__metadata__": {"format": "pt"},
            "w": {"dtype": "U8", "shape": [data_bytes], "data_offsets": [0, data_bytes]},
        }
    ).encode()
    head = len(header).to_bytes(8, "little") + header
    hasher = hashlib.sha256()
    with path.open("wb") as handle:
        for piece in _pieces(head, bytes(range(256)) * (_PIECE // 256), data_bytes, b""):
            hasher.update(piece)
            handle.write(piece)
    return "sha256:" + hasher.hexdigest()


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while piece := handle.read(_PIECE):
            yield piece


class _Sampler:
    """Samples a process's RSS in a thread; the peak is the larger of that and VmHWM."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self._status = Path(f"/proc/{pid}/status")
        self._clear = Path(f"/proc/{pid}/clear_refs")
        self.peak = 0
        self._stop = threading.Event()

    def _hwm(self) -> int:
        for line in self._status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0  # pragma: no cover - Linux always reports it

    @contextmanager
    def watch(self) -> Iterator[int]:
        resettable = False
        with suppress(OSError):
            self._clear.write_text("5")  # reset the kernel's peak RSS counter
            resettable = True
        baseline = self.process.memory_info().rss
        self.peak = baseline
        self._stop.clear()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield baseline
        finally:
            self._stop.set()
            thread.join()
            if resettable:
                self.peak = max(self.peak, self._hwm())

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            with suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[str, int, str]]:
    shutil.copyfile(sqlite_template, tmp_path / "custody.db")
    url = f"sqlite:///{tmp_path / 'custody.db'}"
    token = subprocess.run(
        [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "pull,push,admin"],
        env=cli_env(tmp_path / "data", url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with running_server(tmp_path / "data", url) as base:
        # The registry itself, not another server of the session (SeaweedFS runs `weed server`).
        (pid,) = [
            p.pid
            for p in psutil.Process().children(recursive=True)
            if _is_custody_serve(p.cmdline())
        ]
        yield base, pid, token


def _is_custody_serve(cmdline: list[str]) -> bool:
    # The script runs through its shebang: argv is [python, .../custody, "serve", ...].
    return CUSTODY in cmdline[:2] and "serve" in cmdline[1:3]


def _upload(client: httpx.Client, path: Path, digest: str) -> None:
    response = client.post(
        f"/v2/acme/model/blobs/uploads/?digest={digest}",
        content=_read_file(path),
        headers={"Content-Length": str(path.stat().st_size)},
    )
    assert response.status_code == 201, response.text


def _manifest(client: httpx.Client, layers: list[tuple[str, str, int]]) -> bytes:
    config = b"{}"
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    client.post(f"/v2/acme/model/blobs/uploads/?digest={config_digest}", content=config)
    return model_manifest((config_digest, len(config)), layers)


def test_the_generated_model_is_one_onnx_reads(tmp_path: Path) -> None:
    path = tmp_path / "small.onnx"
    write_big_onnx(path, 4096)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    (weight,) = model.graph.initializer
    assert list(weight.dims) == [1024] and len(weight.raw_data) == 4096


def test_push_time_checks_stay_in_bounded_memory(
    tmp_path: Path, server: tuple[str, int, str]
) -> None:
    base, pid, token = server
    onnx_path, safetensors_path, escape_path = (
        tmp_path / "model.onnx",
        tmp_path / "w.safetensors",
        tmp_path / "escape.onnx",
    )
    files = {
        "model.onnx": (onnx_path, write_big_onnx(onnx_path, ONNX_BYTES)),
        "weights.safetensors": (
            safetensors_path,
            write_big_safetensors(safetensors_path, SAFETENSORS_BYTES),
        ),
        "escape.onnx": (escape_path, write_big_onnx(escape_path, 32 * MIB, "../escape.bin")),
    }
    sampler = _Sampler(pid)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=120) as client:
        for path, digest in files.values():
            _upload(client, path, digest)
        titles = ["model.onnx", "weights.safetensors"]
        body = _manifest(client, [(t, files[t][1], files[t][0].stat().st_size) for t in titles])
        with sampler.watch() as baseline:
            accepted = client.put(
                "/v2/acme/model/manifests/1.0.0",
                content=body,
                headers={"Content-Type": OCI_MANIFEST},
            )
        increases = {"accepted": sampler.peak - baseline}
        assert accepted.status_code == 201, accepted.text
        # Three pushes at once: each check is bounded, so three are too.
        with sampler.watch() as baseline, ThreadPoolExecutor(3) as pool:
            statuses = list(
                pool.map(
                    lambda tag: (
                        client.put(
                            f"/v2/acme/model/manifests/{tag}",
                            content=body,
                            headers={"Content-Type": OCI_MANIFEST},
                        ).status_code
                    ),
                    ["1.0.1", "1.0.2", "1.0.3"],
                )
            )
        increases["three_at_once"] = sampler.peak - baseline
        assert statuses == [201, 201, 201]
        # A refusal reads no more than an acceptance: the escaping location is found
        # in the structure, past 32 MiB of tensor data it never loads.
        escape, escape_digest = files["escape.onnx"]
        body = _manifest(client, [("escape.onnx", escape_digest, escape.stat().st_size)])
        with sampler.watch() as baseline:
            refused = client.put(
                "/v2/acme/model/manifests/2.0.0",
                content=body,
                headers={"Content-Type": OCI_MANIFEST},
            )
        increases["refused"] = sampler.peak - baseline
    assert refused.status_code == 400, refused.text
    assert "escape.onnx" in refused.text and ".." in refused.text
    print({name: f"{increase / MIB:.1f} MiB" for name, increase in increases.items()})
    assert all(increase < BOUND for increase in increases.values()), {
        name: f"{increase / MIB:.1f} MiB" for name, increase in increases.items()
    }
