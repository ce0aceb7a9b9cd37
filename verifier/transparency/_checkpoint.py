"""C2SP tlog-checkpoint: the signed statement of a log's size and root hash.

The note text is ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` followed by
optional extension lines. A checkpoint is trusted only through
:func:`verify_checkpoint`, which checks the signature and that the origin is
the name of the trusted key (so one log's checkpoint cannot pass for another's).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from verifier.transparency._merkle import HASH_SIZE
from verifier.transparency.errors import CheckpointInvalid
from verifier.transparency.note import VerifierKey, open_note

__all__ = ["Checkpoint", "parse_checkpoint", "verify_checkpoint"]

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})\Z")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A verified checkpoint; ``note`` is the signed text it came from."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()
    note: str = ""


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse the body of a checkpoint note (signature not checked here)."""
    if not text.endswith("\n"):
        raise CheckpointInvalid("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointInvalid("a checkpoint has an origin, a tree size and a root hash")
    origin, size, root = lines[:3]
    if not origin:
        raise CheckpointInvalid("the checkpoint's origin line is empty")
    if not _SIZE.match(size) or int(size) >= 2**63:
        raise CheckpointInvalid(f"invalid tree size {size[:40]!r}")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise CheckpointInvalid("the checkpoint's root hash is not base64") from None
    if len(root_hash) != HASH_SIZE:
        raise CheckpointInvalid(f"the root hash must be {HASH_SIZE} bytes")
    extensions = tuple(lines[3:])
    if any(not line for line in extensions):
        raise CheckpointInvalid("empty extension line in the checkpoint")
    return Checkpoint(origin, int(size), root_hash, extensions)


def verify_checkpoint(note: bytes | str, key: VerifierKey) -> Checkpoint:
    """Verify a signed checkpoint from the log named by ``key``."""
    opened = open_note(note, key)
    checkpoint = parse_checkpoint(opened.text)
    if checkpoint.origin != key.name:
        raise CheckpointInvalid(
            f"checkpoint origin {checkpoint.origin!r} is not the log {key.name!r}"
        )
    text = note.decode("utf-8") if isinstance(note, bytes) else note
    return Checkpoint(
        checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, checkpoint.extensions, text
    )
