"""Small helpers shared by the registry tests."""

from __future__ import annotations

import base64
import hashlib


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def basic(secret: str, user: str = "anyone") -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}
