"""Sealed memory files: what was hashed is what is read, and nobody can change it."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

import pytest

from verifier.loading import DigestMismatch, MissingLoadInput, seal_and_verify


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_sealed_bytes_cannot_change(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"verified")
    with seal_and_verify("w.bin", path, _digest(b"verified")) as sealed:
        path.write_bytes(b"swapped!")  # the file on disk no longer matters
        with pytest.raises(PermissionError):
            os.pwrite(sealed.fd, b"X", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(sealed.fd, 1)
        with pytest.raises(PermissionError):
            os.ftruncate(sealed.fd, 100)
        with pytest.raises(PermissionError):
            fcntl.fcntl(sealed.fd, fcntl.F_ADD_SEALS, 0)  # sealed against new seals too
        with open(sealed.proc_path, "rb") as reopened:  # noqa: PTH123 - procfs by path
            assert reopened.read() == b"verified"
        with (
            open(sealed.proc_path, "r+b", buffering=0) as writable,  # noqa: PTH123
            pytest.raises(PermissionError),
        ):
            writable.write(b"X")
        view = sealed.view()
        assert view.readonly and bytes(view) == b"verified"
        view.release()


def test_mismatch_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"other")
    with pytest.raises(DigestMismatch):
        seal_and_verify("w.bin", path, _digest(b"verified"))
    with pytest.raises(MissingLoadInput):
        seal_and_verify("w.bin", tmp_path / "absent", _digest(b"verified"))
    with pytest.raises(MissingLoadInput):
        seal_and_verify("w.bin", tmp_path, _digest(b"verified"))
    (tmp_path / "link").symlink_to(path)
    with pytest.raises(MissingLoadInput):
        seal_and_verify("w.bin", tmp_path / "link", _digest(b"other"))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with seal_and_verify("empty", path, _digest(b"")) as sealed:
        assert sealed.size == 0 and bytes(sealed.view()) == b""
