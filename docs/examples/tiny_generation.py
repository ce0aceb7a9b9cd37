"""Stand-ins for what an image pipeline produces: ``python docs/examples/tiny_generation.py DIR``.

A diffusion pipeline refines a *latent* (a tensor, here float32 1x4x8x8) over several
denoising steps and decodes the last one into the image. Custody signs one record per step
over the latent's raw bytes (C order, little-endian), so each step is written here as the
raw bytes a pipeline would dump (``step0.latent``, ``step1.latent``), with the decoded
image ``out.png`` (a 16x16 red square; standard library only).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

LATENT_SHAPE = (1, 4, 8, 8)


def _latent(step: int) -> bytes:
    count = 1
    for size in LATENT_SHAPE:
        count *= size
    return struct.pack(f"<{count}f", *(float(step) / (1 + i % 7) for i in range(count)))


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def write_outputs(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for step in (0, 1):
        path = directory / f"step{step}.latent"
        path.write_bytes(_latent(step))
        written.append(path)
    image = directory / "out.png"
    image.write_bytes(_png(16, 16, (200, 30, 30)))
    written.append(image)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/examples/tiny_generation.py DIR")
    print("wrote " + ", ".join(str(p) for p in write_outputs(Path(sys.argv[1]))))
