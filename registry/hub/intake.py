"""Reading a hub submission: ``multipart/form-data``, streamed, every part bounded.

The image part is hashed from the exact bytes received: as it arrives when
only its digest is needed, or, when the hub must look inside it (C2PA), kept
in memory (never written anywhere) and hashed on first use, so that the C2PA
check can hash it on one core while c2pa-python validates on the other. It is
refused with 413 the moment it passes the limit (or before a byte is read,
when ``Content-Length`` already says so). The small JSON parts
(envelopes, latent chain, reprint request) have their own limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import multipart  # type: ignore[import-untyped]
from litestar import Request

from registry.http.deps import body_chunks
from registry.hub.errors import ImageTooLarge, MalformedSubmission, UnsupportedMediaType

IMAGE_PART = "image"
#: Room for part headers and boundaries on top of the parts' own limits.
_FRAMING_BYTES = 64 * 1024


@dataclass(slots=True)
class ImagePart:
    """The submitted image: size and digest always; the bytes only if asked for.

    With the bytes kept, ``digest`` is computed on first use (and remembered).
    """

    size: int
    media_type: str
    data: bytes | None
    known_digest: str | None = None

    @classmethod
    def of(cls, data: bytes, media_type: str) -> ImagePart:
        """An image held in memory (its digest computed when first asked for)."""
        return cls(len(data), media_type, data)

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the exact bytes received."""
        if self.known_digest is None:
            if self.data is None:  # pragma: no cover - intake sets one or the other
                raise AssertionError("an image part with neither its bytes nor its digest")
            self.known_digest = "sha256:" + hashlib.sha256(self.data).hexdigest()
        return self.known_digest


@dataclass(slots=True)
class Submission:
    fields: dict[str, bytes] = field(default_factory=dict)
    image: ImagePart | None = None

    def require(self, name: str) -> bytes:
        value = self.fields.get(name)
        if value is None:
            raise MalformedSubmission(f"the '{name}' part is missing")
        return value


@dataclass(frozen=True, slots=True)
class Limits:
    image_bytes: int
    field_bytes: int


async def read_submission(
    request: Request[Any, Any, Any],
    *,
    allowed_fields: Collection[str],
    limits: Limits,
    keep_image_unless: str | None = None,
) -> Submission:
    """Parse the body; keep the image bytes unless part ``keep_image_unless`` came first."""
    boundary = _boundary(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length")
    ceiling = limits.image_bytes + limits.field_bytes * len(allowed_fields) + _FRAMING_BYTES
    if declared is not None and declared.isdigit() and int(declared) > ceiling:
        raise ImageTooLarge(
            f"the submission declares {declared} bytes; images are limited to "
            f"{limits.image_bytes} bytes (CUSTODY_MAX_IMAGE_BYTES)"
        )
    submission = Submission()
    parser = multipart.PushMultipartParser(
        boundary, max_header_size=4096, max_header_count=8, max_segment_count=8
    )
    current: _Part | None = None
    received = 0
    try:
        async for chunk in body_chunks(request):
            received += len(chunk)
            if received > ceiling:
                raise ImageTooLarge(
                    f"the submission passed {ceiling} bytes; images are limited to "
                    f"{limits.image_bytes} bytes (CUSTODY_MAX_IMAGE_BYTES)"
                )
            for event in parser.parse(chunk):
                current = _on_event(
                    event, current, submission, allowed_fields, limits, keep_image_unless
                )
        for event in parser.parse(b""):
            current = _on_event(
                event, current, submission, allowed_fields, limits, keep_image_unless
            )
        parser.close()
    except multipart.ParserLimitReached as exc:
        raise MalformedSubmission(f"multipart body exceeds a limit: {exc}") from None
    except multipart.MultipartError as exc:
        raise MalformedSubmission(f"not a valid multipart/form-data body: {exc}") from None
    if not parser.closed:
        raise MalformedSubmission("the multipart body ended before its closing boundary")
    return submission


async def read_image_body(
    request: Request[Any, Any, Any], media_type: str, limits: Limits
) -> ImagePart:
    """A raw image body (a C2PA registration sent as ``image/png`` or ``image/jpeg``), kept
    in memory for validation; 413 before reading when ``Content-Length`` is over the limit,
    or the moment the body passes it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.image_bytes:
        raise ImageTooLarge(
            f"the image is {declared} bytes; images are limited to {limits.image_bytes} "
            "bytes (CUSTODY_MAX_IMAGE_BYTES)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in body_chunks(request):
        size += len(chunk)
        if size > limits.image_bytes:
            raise ImageTooLarge(
                f"the image passed {limits.image_bytes} bytes (CUSTODY_MAX_IMAGE_BYTES)"
            )
        chunks.append(chunk)
    if not size:
        raise MalformedSubmission("the image body is empty")
    return ImagePart.of(b"".join(chunks), media_type)


def media_type_of(request: Request[Any, Any, Any]) -> str:
    """The request's media type, without parameters."""
    media_type, _ = multipart.parse_options_header(request.headers.get("content-type", ""))
    return str(media_type)


def _boundary(content_type: str) -> str:
    media_type, options = multipart.parse_options_header(content_type)
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "send multipart/form-data (parts: manifest, latents, image), or a C2PA image "
            f"as image/png or image/jpeg, not {media_type or '-'}"
        )
    boundary = str(options.get("boundary", ""))
    if not boundary or len(boundary) > 70:
        raise MalformedSubmission("multipart/form-data needs a boundary of 1 to 70 characters")
    return boundary


class _Part:
    """One part being received."""

    def __init__(self, name: str, media_type: str, keep: bool) -> None:
        self.name = name
        self.media_type = media_type
        self.keep = keep
        self.size = 0
        self.is_image = name == IMAGE_PART
        # Kept images are hashed on first use (see ImagePart.digest), others as they arrive.
        self.hasher = hashlib.sha256() if self.is_image and not keep else None
        # The parser's chunks are immutable ``bytes``: keep them and join once at the end.
        # Growing a bytearray instead re-copied a 3 MB image ~30 times (~5 ms per image).
        self.chunks: list[bytes] = []


def _on_event(
    event: multipart.MultipartSegment | bytes | None,
    current: _Part | None,
    submission: Submission,
    allowed: Collection[str],
    limits: Limits,
    keep_image_unless: str | None,
) -> _Part | None:
    if isinstance(event, multipart.MultipartSegment):
        name = event.name or ""
        if name != IMAGE_PART and name not in allowed:
            expected = ", ".join([*allowed, IMAGE_PART])
            raise MalformedSubmission(f"unexpected part {name!r} (expected {expected})")
        if name in submission.fields or (name == IMAGE_PART and submission.image is not None):
            raise MalformedSubmission(f"the '{name}' part appears twice")
        keep = name != IMAGE_PART or keep_image_unless not in submission.fields
        return _Part(name, event.content_type or "application/octet-stream", keep)
    if current is None:  # pragma: no cover - the parser always opens a segment first
        raise MalformedSubmission("multipart data outside a part")
    if isinstance(event, bytes | bytearray):
        current.size += len(event)
        if current.is_image:
            if current.size > limits.image_bytes:
                raise ImageTooLarge(
                    f"the image passed {limits.image_bytes} bytes (CUSTODY_MAX_IMAGE_BYTES)"
                )
            if current.hasher is not None:
                current.hasher.update(event)
        elif current.size > limits.field_bytes:
            raise MalformedSubmission(
                f"the '{current.name}' part is larger than {limits.field_bytes} bytes"
            )
        if current.keep:
            current.chunks.append(bytes(event))
        return current
    # End of the part.
    if current.is_image:
        submission.image = ImagePart(
            size=current.size,
            media_type=current.media_type,
            data=b"".join(current.chunks) if current.keep else None,
            known_digest=None if current.hasher is None else "sha256:" + current.hasher.hexdigest(),
        )
    else:
        submission.fields[current.name] = b"".join(current.chunks)
    return None
