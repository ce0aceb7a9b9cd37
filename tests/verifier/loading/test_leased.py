"""The in-place route: a read lease held while the model is hashed and loaded.

Where the filesystem grants no leases (some container filesystems), each test checks
the documented fallback instead: the sealed copy, with the same guarantees.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import verifier.loading._session as session_module
from tests.verifier.loading.helpers import sha256, single_file, with_external
from verifier.loading import (
    DigestMismatch,
    LeaseBroken,
    lease_and_verify,
    load_onnx_session,
)


@pytest.fixture
def leases(tmp_path: Path) -> bool:
    """Whether this filesystem grants read leases."""
    probe = tmp_path / "lease-probe"
    probe.write_bytes(b"x")
    fd = os.open(probe, os.O_RDONLY)
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def test_model_without_external_data_is_loaded_in_place(tmp_path: Path, leases: bool) -> None:
    files, digests = single_file(tmp_path)
    session = load_onnx_session(files, digests, model="model.onnx")
    assert session.route == ("leased" if leases else "sealed")
    external = load_onnx_session(*with_external(tmp_path / "ext"), model="model.onnx")
    assert external.route == "sealed"


def test_lease_refused_while_a_writer_holds_the_file(tmp_path: Path) -> None:
    files, digests = single_file(tmp_path)
    with files["model.onnx"].open("r+b"):
        assert lease_and_verify("model.onnx", files["model.onnx"], digests["model.onnx"]) is None
        session = load_onnx_session(files, digests, model="model.onnx")
    assert session.route == "sealed"  # the sealed copy is the fallback


def test_digest_mismatch_in_place(tmp_path: Path, leases: bool) -> None:
    files, _ = single_file(tmp_path)
    if not leases:
        assert lease_and_verify("model.onnx", files["model.onnx"], "sha256:" + "0" * 64) is None
        return
    with pytest.raises(DigestMismatch):
        lease_and_verify("model.onnx", files["model.onnx"], "sha256:" + "0" * 64)


def test_writer_during_the_load_breaks_the_lease_and_the_result_is_discarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leases: bool
) -> None:
    files, digests = single_file(tmp_path)
    target = files["model.onnx"]
    real = session_module.ort.InferenceSession
    wrote: list[bool] = []

    def writer() -> None:
        with target.open("r+b") as handle:  # blocks until the lease is released
            handle.write(b"\0")
        wrote.append(True)

    thread = threading.Thread(target=writer)

    def write_then_build(*args: Any, **kwargs: Any) -> Any:
        thread.start()
        time.sleep(0.3)  # the writer is now waiting on the lease
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module.ort, "InferenceSession", write_then_build)
    if leases:
        with pytest.raises(LeaseBroken):
            load_onnx_session(files, digests, model="model.onnx")
    else:  # the sealed copy was made and verified before the writer got in
        assert load_onnx_session(files, digests, model="model.onnx").route == "sealed"
    thread.join(timeout=10)
    assert wrote == [True] and sha256(target) != digests["model.onnx"]


def test_lease_break_signal_cannot_kill_the_process(tmp_path: Path, leases: bool) -> None:
    files, digests = single_file(tmp_path)
    leased = lease_and_verify("model.onnx", files["model.onnx"], digests["model.onnx"])
    if not leases:
        assert leased is None
        return
    assert leased is not None
    opened = threading.Event()

    def writer() -> None:
        fd = os.open(files["model.onnx"], os.O_WRONLY)
        opened.set()
        os.close(fd)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)  # a lease-break notification has been sent by now
    assert not opened.is_set()
    with pytest.raises(LeaseBroken):
        leased.check_intact()
    leased.close()
    thread.join(timeout=10)
    assert opened.is_set()
