"""Byte counts as people write them: ``10GiB``, ``500 MB``, ``1.5TiB``, ``1048576``.

Binary units (KiB, MiB, GiB, TiB, PiB: powers of 1024) and decimal ones (kB, MB, GB,
TB, PB: powers of 1000), any case, an optional space, a decimal fraction. A bare
``G`` or ``M`` is refused rather than guessed: tools disagree on whether it means
2^30 or 10^9. Sizes are whole bytes: a fraction of a byte is rounded down.
"""

from __future__ import annotations

import re
from decimal import Decimal

from registry.errors import InvalidInput

__all__ = ["MAX_BYTES", "format_size", "parse_size"]

#: The largest size a signed 64-bit column holds.
MAX_BYTES = 2**63 - 1

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_SIZE_RE = re.compile(r"([0-9]{1,30}(?:\.[0-9]{1,30})?) *([A-Za-z]{0,3})")


def parse_size(text: str) -> int:
    """The number of bytes ``text`` names; :class:`InvalidInput` (400) if it names none."""
    match = _SIZE_RE.fullmatch(text.strip())
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise InvalidInput(
            f"{text[:40]!r} is not a size: write a number of bytes, or a number with a unit "
            "(KiB, MiB, GiB, TiB, PiB in powers of 1024; kB, MB, GB, TB, PB in powers of 1000)"
        )
    size = int(Decimal(match.group(1)) * unit)
    if size > MAX_BYTES:
        raise InvalidInput(f"{text[:40]!r} is more than {MAX_BYTES} bytes")
    return size


def format_size(size: int) -> str:
    """``size`` bytes in binary units, one decimal (``10.0 GiB``; bytes below 1 KiB)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _BINARY[1:]:
        value /= 1024
        if value < 1024 or unit == _BINARY[-1]:
            break
    return f"{value:.1f} {unit}"
