"""The ``c2pa`` module, imported on first use: it loads a native library (~90 ms), and it
ships no type information, so callers get it as ``Any`` from one place."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["c2pa_module"]


def c2pa_module() -> Any:
    """``import c2pa``, once."""
    return importlib.import_module("c2pa")
