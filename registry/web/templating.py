"""Small formatting filters the templates share (sizes, times, short digests)."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment

__all__ = ["install_filters"]


def size(value: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"  # pragma: no cover


def when(value: datetime) -> str:
    """A timestamp in UTC, to the second."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_digest(value: str | None) -> str:
    """``sha256:0123456789ab…`` (the whole digest stays in the markup's title)."""
    if not value:
        return ""
    algorithm, _, hexdigest = value.partition(":")
    return f"{algorithm}:{hexdigest[:12]}…" if len(hexdigest) > 12 else value


def install_filters(environment: Environment) -> None:
    environment.filters["size"] = size
    environment.filters["when"] = when
    environment.filters["short"] = short_digest
