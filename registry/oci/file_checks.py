"""Checks on model files at push time, from their own headers.

A manifest naming a ``.safetensors`` layer must point at a safetensors file
whose header is honest: no duplicate tensor names (the safetensors library
accepts them and keeps the last), offsets inside the file, sizes matching
dtype x shape. A ``.onnx`` layer must be a model whose external data stays
inside the version's own files (no absolute paths, no ``..``). Both checks use
the same parsers as ML-BOM generation, run off the event loop, and refuse the
manifest with the file and the reason.
"""

from __future__ import annotations

import asyncio
import struct

from registry.digests import Digest
from registry.errors import ManifestInvalid
from registry.oci.manifests import ParsedManifest
from registry.storage import BlobStore
from signing.sbom import SbomError, inspect_onnx, parse_safetensors_header

_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


async def _read(blobs: BlobStore, digest: str, start: int, end: int) -> bytes:
    return b"".join([c async for c in blobs.open(Digest.parse(digest), start, end)])


async def check_model_files(blobs: BlobStore, parsed: ParsedManifest) -> None:
    files = {d.title: d.size for d in parsed.layers if d.title}
    for layer in parsed.layers:
        title = layer.title or ""
        lowered = title.lower()
        try:
            if lowered.endswith(".safetensors"):
                length = await _read(blobs, layer.digest, 0, min(8, layer.size))
                header = 0 if len(length) < 8 else struct.unpack("<Q", length)[0]
                end = 8 + min(header, _MAX_SAFETENSORS_HEADER)
                prefix = await _read(blobs, layer.digest, 0, min(end, layer.size))
                await asyncio.to_thread(parse_safetensors_header, prefix, layer.size, name=title)
            elif lowered.endswith(".onnx"):
                data = await _read(blobs, layer.digest, 0, layer.size)
                await asyncio.to_thread(inspect_onnx, data, name=title, files=files)
        except SbomError as exc:
            raise ManifestInvalid(str(exc)) from None
