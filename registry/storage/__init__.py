"""The blob-store seam: a narrow interface and its backends, chosen by settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from registry.storage.base import (
    BlobInventory,
    BlobStat,
    BlobStore,
    PresignedDownloads,
    UploadSweep,
)
from registry.storage.filesystem import FilesystemBlobStore

if TYPE_CHECKING:
    from registry.storage.s3 import S3BlobStore

__all__ = [
    "BlobInventory",
    "BlobStat",
    "BlobStore",
    "FilesystemBlobStore",
    "PresignedDownloads",
    "UploadSweep",
    "open_blob_store",
]


def open_blob_store(
    location: str | Path,
    *,
    endpoint_url: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    region: str | None = None,
    min_free_bytes: int = 0,
) -> FilesystemBlobStore | S3BlobStore:
    """The store at ``location``: ``s3://bucket/prefix``, ``file:///dir`` or a directory.

    The S3 arguments apply to ``s3://`` only (``None``: boto3's usual sources,
    such as ``AWS_ACCESS_KEY_ID`` or an instance role); ``min_free_bytes`` to a
    directory only.
    """
    if isinstance(location, Path):
        return FilesystemBlobStore(location, min_free_bytes=min_free_bytes)
    parts = urlsplit(location)
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"blob store {location!r}: expected s3://bucket or s3://bucket/prefix")
        from registry.storage.s3 import S3BlobStore  # boto3 is loaded only when S3 is chosen

        return S3BlobStore(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=endpoint_url,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            region=region,
        )
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"blob store {location!r}: a file:// URL names a local directory")
        return FilesystemBlobStore(Path(unquote(parts.path)), min_free_bytes=min_free_bytes)
    if parts.scheme:
        raise ValueError(
            f"blob store {location!r}: use a directory, file:///directory or s3://bucket/prefix"
        )
    return FilesystemBlobStore(Path(location), min_free_bytes=min_free_bytes)
