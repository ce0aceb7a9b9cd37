"""The blob-store seam: a narrow interface and its backends, chosen by settings."""

from registry.storage.base import BlobStat, BlobStore
from registry.storage.filesystem import FilesystemBlobStore

__all__ = ["BlobStat", "BlobStore", "FilesystemBlobStore"]
