"""How a chunked upload session is written down in the bucket, for :mod:`registry.storage.s3`.

A session ``<id>`` is one multipart upload on the key ``_objects/<id>``, plus, under
``_sessions/<id>/``, a marker (``session``) and one small *step* object per append that
succeeded. A step is named ``<start>-<end>-<tag>`` (20-digit byte offsets and a random
tag, so no append, on any replica, overwrites another's) and holds the session's state
after that append: the multipart upload's id, every part so far (number and ETag), and
the tail, the last bytes received that are too few for a part S3 takes before another
(5 MiB): the next append sends them again at the head of its first part, and the close
sends them as the last part. Listing the session's prefix therefore tells any replica
where the session stands, and reading its last step tells it everything else.

Only a chain of steps from byte 0 counts, each starting where the last ended; of two
steps at one offset (two appends raced), the first in sort order is the chain's. Parts
an append sent but never recorded in a step (it failed, or lost a race) are never named
when the upload is completed, and S3 completes exactly the parts whose ETags it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["MARKER", "SessionState", "Step", "chain_of", "step_name"]

MARKER = "session"


class Step(NamedTuple):
    """One recorded append: bytes ``[start, end)``, written down in the object ``key``."""

    start: int
    end: int
    key: str


def step_name(start: int, end: int, tag: str) -> str:
    return f"{start:020d}-{end:020d}-{tag}"


def chain_of(prefix: str, keys: list[str]) -> list[Step]:
    """The session's recorded appends, in order, from the keys listed under ``prefix``."""
    steps: list[Step] = []
    end = 0
    for key in sorted(keys):
        start_text, _, rest = key[len(prefix) :].partition("-")
        end_text, _, tag = rest.partition("-")
        if not (start_text.isdigit() and end_text.isdigit() and tag):
            continue  # the marker, or not a step
        start, stop = int(start_text), int(end_text)
        if start == end and stop > start:
            steps.append(Step(start, stop, key))
            end = stop
    return steps


@dataclass(frozen=True, slots=True)
class SessionState:
    """What a step records: the upload, its parts in order, and the tail not yet sent."""

    upload: str | None = None
    parts: list[CompletedPartTypeDef] = field(default_factory=list)
    tail: bytes = b""

    @property
    def next_part(self) -> int:
        return self.parts[-1]["PartNumber"] + 1 if self.parts else 1

    def encode(self) -> bytes:
        header = {
            "upload": self.upload,
            "parts": [[part["PartNumber"], part["ETag"]] for part in self.parts],
        }
        return json.dumps(header, separators=(",", ":")).encode() + b"\n" + self.tail

    @classmethod
    def decode(cls, body: bytes) -> SessionState:
        header, _, tail = body.partition(b"\n")
        fields = json.loads(header)
        parts: list[CompletedPartTypeDef] = [
            {"PartNumber": int(number), "ETag": str(etag)} for number, etag in fields["parts"]
        ]
        return cls(fields["upload"], parts, tail)
