"""The publishing half of the registry client: upload blobs, put manifests.

:class:`~verifier.clients.registry.RegistryClient` only reads (what a verifier
and the edge agent need); :class:`PushClient` adds what ``custody push`` and
``custody publish`` write, and what the registry's demo seeding pushes through
:mod:`verifier.clients.publish`. Small blobs go up in one request, large ones in
chunks whose upload can be resumed after an interruption from the registry's
own upload status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from signing.digests import Digest
from signing.media_types import OCI_MANIFEST
from verifier.clients.registry import Progress, RegistryClient
from verifier.errors import FetchError, IntegrityError

__all__ = ["CHUNK_BYTES", "SINGLE_REQUEST_MAX_BYTES", "PushClient"]

#: A file up to this size goes up in one request (read whole); a larger one in chunks.
SINGLE_REQUEST_MAX_BYTES = 16 * 1024 * 1024
#: Each chunk is a PATCH the client waits for: the registry answers once the chunk is
#: stored, so a chunk costs a round trip and the store's last part. 64 MiB keeps that
#: near a tenth of the chunk on S3 (docs/s3-performance.md) and bounds what a resumed
#: upload sends again.
CHUNK_BYTES = 64 * 1024 * 1024
_READ_BYTES = 1024 * 1024


def _read_range(
    handle: Any, offset: int, length: int, progress: Progress | None
) -> Iterator[bytes]:
    handle.seek(offset)
    remaining = length
    while remaining:
        block = handle.read(min(_READ_BYTES, remaining))
        if not block:
            raise FetchError("the file shrank while it was being uploaded")
        remaining -= len(block)
        if progress:
            progress(len(block))
        yield block


class PushClient(RegistryClient):
    """A registry client that also publishes: blobs and manifests, each checked by digest."""

    def __enter__(self) -> PushClient:
        return self

    def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST
    ) -> str:
        response = self._expect(
            self._request(
                "PUT",
                f"/v2/{repository}/manifests/{reference}",
                content=body,
                headers={"Content-Type": media_type},
            ),
            201,
            what=f"manifest {repository}:{reference}",
        )
        digest = str(Digest.of_bytes(body))
        claimed = response.headers.get("docker-content-digest")
        if claimed and claimed != digest:
            raise IntegrityError(
                f"registry stored {claimed} for a manifest whose digest is {digest}"
            )
        return digest

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}")
        if response.status_code == 404:
            return False
        self._expect(response, 200, what=f"blob {digest}")
        return True

    def upload_blob(
        self,
        repository: str,
        path: Path,
        digest: str,
        size: int,
        *,
        state_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Upload a file as a blob: one request if small, else resumable chunks.

        With ``state_dir``, an interrupted chunked upload records its session and
        a re-run continues from the offset the registry reports.
        """
        if size <= SINGLE_REQUEST_MAX_BYTES:
            data = path.read_bytes()
            if str(Digest.of_bytes(data)) != digest:
                raise IntegrityError(f"{path} changed since it was hashed")
            self._expect(
                self._request(
                    "POST",
                    f"/v2/{repository}/blobs/uploads/",
                    params={"digest": digest},
                    content=data,
                    headers={"Content-Type": "application/octet-stream"},
                ),
                201,
                what=f"upload {path.name}",
            )
            if progress:
                progress(size)
            return
        self._chunked_upload(repository, path, digest, size, state_dir, progress)

    def _chunked_upload(
        self,
        repository: str,
        path: Path,
        digest: str,
        size: int,
        state_dir: Path | None,
        progress: Progress | None,
    ) -> None:
        state_file = state_dir / f"{digest.replace(':', '-')}.json" if state_dir else None
        location, offset = self._resume(state_file)
        if location is None:
            response = self._expect(
                self._request("POST", f"/v2/{repository}/blobs/uploads/"),
                202,
                what=f"start upload of {path.name}",
            )
            location, offset = response.headers["location"], 0
            if state_file is not None:
                state_file.parent.mkdir(parents=True, exist_ok=True)
                state_file.write_text(json.dumps({"location": location}))
        if progress and offset:
            progress(offset)
        with path.open("rb") as handle:
            while offset < size:
                length = min(CHUNK_BYTES, size - offset)
                response = self._expect(
                    self._request(
                        "PATCH",
                        location,
                        # Streamed in 1 MiB reads: whole chunks as bytes objects
                        # fragment the heap and the client's memory grows per chunk.
                        content=_read_range(handle, offset, length, progress),
                        headers={
                            "Content-Type": "application/octet-stream",
                            "Content-Length": str(length),
                            "Content-Range": f"{offset}-{offset + length - 1}",
                        },
                    ),
                    202,
                    what=f"upload of {path.name} at byte {offset}",
                )
                location = urljoin(self.base_url + "/", response.headers.get("location", location))
                offset += length
        separator = "&" if "?" in location else "?"
        self._expect(
            self._request("PUT", f"{location}{separator}digest={digest}"),
            201,
            what=f"finish upload of {path.name}",
        )
        if state_file is not None:
            state_file.unlink(missing_ok=True)

    def _resume(self, state_file: Path | None) -> tuple[str | None, int]:
        if state_file is None or not state_file.is_file():
            return None, 0
        try:
            location = json.loads(state_file.read_text())["location"]
        except (ValueError, KeyError, OSError):
            return None, 0
        response = self._request("GET", location)
        if response.status_code != 204:
            state_file.unlink(missing_ok=True)
            return None, 0
        received = response.headers.get("range", "0-0")
        end = int(received.split("-")[1]) if "-" in received else 0
        offset = end + 1 if end > 0 else 0
        return location, offset
