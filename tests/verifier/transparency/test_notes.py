"""C2SP signed notes and checkpoints: Go's published vectors, and every way to fail.

The vectors are the examples of golang.org/x/mod/sumdb/note (the reference
implementation of the signed-note format): Ed25519 is deterministic, so our
signer must reproduce Go's note byte for byte and our verifier must accept it.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from registry.tlog.errors import LogKeyInvalid
from registry.tlog.signer import LogSigner, load_or_create_signer
from verifier.transparency import (
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    LogError,
    VerifierKey,
    VerifierKeyInvalid,
    open_note,
    parse_checkpoint,
    verify_checkpoint,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_reference_vectors():
    signer = LogSigner.from_text(GO_SKEY)
    assert signer.verifier_key == GO_VKEY
    assert signer.sign_note(GO_TEXT) == GO_NOTE
    key = VerifierKey.parse(GO_VKEY)
    assert key.key_id == 0xC74F20A3 and str(key) == GO_VKEY
    assert open_note(GO_NOTE.encode(), key).text == GO_TEXT


@pytest.fixture
def signer() -> LogSigner:
    return LogSigner("example.com/log", Ed25519PrivateKey.generate())


def test_checkpoint_round_trip(signer: LogSigner):
    root = bytes(range(32))
    note = signer.checkpoint(42, root)
    checkpoint = verify_checkpoint(note, VerifierKey.parse(signer.verifier_key))
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash) == (
        "example.com/log",
        42,
        root,
    )
    assert checkpoint.note == note


def test_witness_cosignatures_by_unknown_keys_are_ignored(signer: LogSigner):
    witness = LogSigner("witness.example", Ed25519PrivateKey.generate())
    note = signer.checkpoint(1, bytes(32))
    cosigned = note + witness.sign_note(note.split("\n\n")[0] + "\n").split("\n\n")[1]
    assert verify_checkpoint(cosigned, VerifierKey.parse(signer.verifier_key)).tree_size == 1
    with pytest.raises(CheckpointSignatureInvalid, match="no signature by"):
        verify_checkpoint(witness.checkpoint(1, bytes(32)), VerifierKey.parse(signer.verifier_key))


def _bad_notes(signer: LogSigner) -> dict[str, tuple[str | bytes, type[Exception]]]:
    good = signer.checkpoint(7, bytes(32))
    text, _signature = good.split("\n\n")
    forged_sig = base64.b64encode(signer.key_id.to_bytes(4, "big") + bytes(64)).decode()
    other = LogSigner("example.com/log", Ed25519PrivateKey.generate())
    return {
        "tampered size": (good.replace("\n7\n", "\n8\n"), CheckpointSignatureInvalid),
        "zero signature": (
            f"{text}\n\n\u2014 example.com/log {forged_sig}\n",
            CheckpointSignatureInvalid,
        ),
        "same name, other key": (other.checkpoint(7, bytes(32)), CheckpointSignatureInvalid),
        "no blank line": (text + "\n", CheckpointInvalid),
        "no final newline": (good[:-1], CheckpointInvalid),
        "hyphen not em dash": (good.replace("\u2014", "-"), CheckpointInvalid),
        "signature not base64": (f"{text}\n\n\u2014 example.com/log !!!\n", CheckpointInvalid),
        "short signature": (f"{text}\n\n\u2014 example.com/log AAAA\n", CheckpointInvalid),
        "not utf-8": (good.encode() + b"\xff", CheckpointInvalid),
        "too large": (b"x" * (1024 * 1024 + 1), CheckpointInvalid),
        "control character": (
            signer.sign_note(
                "example.com/log\n7\x07\n" + base64.b64encode(bytes(32)).decode() + "\n"
            ),
            CheckpointInvalid,
        ),
        "too many signatures": (
            good + "\u2014 someone AAAAAAAA\n" * 100,
            CheckpointInvalid,
        ),
        "origin of another log": (
            LogSigner("example.com/log", signer._private).sign_note(
                "other.example/log\n7\n" + base64.b64encode(bytes(32)).decode() + "\n"
            ),
            CheckpointInvalid,
        ),
        "size not decimal": (
            signer.sign_note("example.com/log\n+7\n" + base64.b64encode(bytes(32)).decode() + "\n"),
            CheckpointInvalid,
        ),
        "short root": (
            signer.sign_note("example.com/log\n7\n" + base64.b64encode(bytes(31)).decode() + "\n"),
            CheckpointInvalid,
        ),
        "two lines only": (signer.sign_note("example.com/log\n7\n"), CheckpointInvalid),
    }


@pytest.mark.parametrize(
    "case",
    [
        "tampered size",
        "zero signature",
        "same name, other key",
        "no blank line",
        "no final newline",
        "hyphen not em dash",
        "signature not base64",
        "short signature",
        "not utf-8",
        "too large",
        "control character",
        "too many signatures",
        "origin of another log",
        "size not decimal",
        "short root",
        "two lines only",
    ],
)
def test_bad_checkpoints_fail_closed(signer: LogSigner, case: str):
    note, error = _bad_notes(signer)[case]
    with pytest.raises(error):
        verify_checkpoint(note, VerifierKey.parse(signer.verifier_key))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpjZBxQ8OExB6DDFvOEqoIF+xWSaqr8sMTiLNbLXRNY=",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        "PeterNeumann+zzzzzzzz+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys_are_refused(text: str):
    with pytest.raises(VerifierKeyInvalid):
        VerifierKey.parse(text)


def test_parse_checkpoint_keeps_extension_lines():
    root = base64.b64encode(bytes(32)).decode()
    assert parse_checkpoint(f"o\n0\n{root}\nextra one\n").extensions == ("extra one",)
    with pytest.raises(CheckpointInvalid, match="empty extension"):
        parse_checkpoint(f"o\n0\n{root}\n\nx\n")


def test_log_key_file_is_created_once_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "tlog.key"
    first = load_or_create_signer(path, "example.com/log")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("PRIVATE+KEY+example.com/log+")
    again = load_or_create_signer(path, None)
    assert again.verifier_key == first.verifier_key
    with pytest.raises(LogKeyInvalid, match="belongs to log"):
        load_or_create_signer(path, "another/log")
    seed = path.read_text().split("+", 4)[4]
    path.write_text("PRIVATE+KEY+example.com/log+00000000+" + seed)
    with pytest.raises(LogKeyInvalid, match="ID does not match"):
        load_or_create_signer(path, None)
    path.write_text("not a key")
    with pytest.raises(LogKeyInvalid):
        load_or_create_signer(path, None)


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_note_parser(data: bytes) -> None:
    key = VerifierKey.parse(GO_VKEY)
    with pytest.raises(LogError):
        verify_checkpoint(data, key)


@given(st.integers(0, len(GO_TEXT.encode()) - 1), st.integers(1, 255))
def test_any_change_to_the_signed_text_is_refused(position: int, flip: int) -> None:
    raw = bytearray(GO_NOTE.encode())
    raw[position] ^= flip
    with pytest.raises(LogError):
        open_note(bytes(raw), VerifierKey.parse(GO_VKEY))
