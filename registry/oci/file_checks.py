"""Checks on model files at push time, from their own headers, in bounded memory.

A manifest naming a ``.safetensors`` layer must point at a safetensors file
whose header is honest: no duplicate tensor names (the safetensors library
accepts them and keeps the last), offsets inside the file, sizes matching
dtype x shape. A ``.onnx`` layer must be a model whose external data stays
inside the version's own files (no absolute paths, no ``..``). Both checks use
the same parsers as ML-BOM generation and refuse the manifest with the file
and the reason.

Neither reads a layer whole: each parser runs in a worker thread over a
read-only, seekable view of the blob (:class:`BlobReader`) that fetches only the
byte ranges asked for from the blob store, on the event loop. The safetensors
check reads the 8-byte length and the header; the ONNX check walks the protobuf
structure and seeks past tensor data (:mod:`signing.sbom._onnx_structure`).
Memory per check is a read buffer plus the header or structure, whatever the
layer's size.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

from registry.digests import Digest
from registry.errors import ManifestInvalid
from registry.oci.manifests import ParsedManifest
from registry.storage import BlobStore
from signing.sbom import SbomError, inspect_onnx, read_safetensors_header

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_BUFFER_BYTES = 64 * 1024


class BlobReader(io.RawIOBase):
    """A seekable, read-only file over a stored blob, for parsers that run in a thread.

    Each read fetches exactly the range asked for through the (async) blob store,
    on ``loop``; it must not be used from the loop's own thread.
    """

    def __init__(
        self,
        blobs: BlobStore,
        digest: Digest,
        size: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__()
        self._blobs = blobs
        self._digest = digest
        self._size = size
        self._loop = loop
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._position = base + offset
        return self._position

    async def _fetch(self, start: int, end: int) -> bytes:
        return b"".join([c async for c in self._blobs.open(self._digest, start, end)])

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._position + len(view), self._size)
        if end <= self._position:
            return 0
        future = asyncio.run_coroutine_threadsafe(self._fetch(self._position, end), self._loop)
        data = future.result()
        view[: len(data)] = data
        self._position += len(data)
        return len(data)


async def check_model_files(blobs: BlobStore, parsed: ParsedManifest) -> None:
    files = {d.title: d.size for d in parsed.layers if d.title}
    loop = asyncio.get_running_loop()
    for layer in parsed.layers:
        title = layer.title or ""
        lowered = title.lower()
        raw = BlobReader(blobs, Digest.parse(layer.digest), layer.size, loop)
        reader = io.BufferedReader(raw, buffer_size=_BUFFER_BYTES)
        try:
            if lowered.endswith(".safetensors"):
                await asyncio.to_thread(
                    read_safetensors_header, reader, file_size=layer.size, name=title
                )
            elif lowered.endswith(".onnx"):
                await asyncio.to_thread(
                    inspect_onnx, reader, name=title, files=files, size=layer.size
                )
        except SbomError as exc:
            raise ManifestInvalid(str(exc)) from None
