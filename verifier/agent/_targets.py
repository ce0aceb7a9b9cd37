"""The TUF target names the registry signs (ADR 0006), and the checks on their info.

Fixed depth, four segments, because TUF path patterns match one segment at a time
and each namespace's role is delegated ``<namespace>/*/*/*``:

* ``<ns>/<model>/<version>/<file>``: one file of a version (``file`` is the layer
  title, percent-encoded with ``quote(title, safe="")``);
* ``<ns>/<model>/<version>/@manifest``: the version's manifest bytes;
* ``<ns>/<model>/@alias/<alias>``: the manifest bytes the alias points at, with
  ``custom.version`` and ``custom.manifest``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]  # re-exported

from verifier.agent.errors import AgentError

__all__ = [
    "alias_path",
    "check_repository",
    "custom",
    "file_path",
    "manifest_path",
    "sha256_of",
]

_SEGMENT = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")


def check_repository(repository: str, tag: str) -> tuple[str, str]:
    """``namespace/model`` and a tag; refuse anything that would change the path depth."""
    parts = repository.split("/")
    if len(parts) != 2 or not all(_SEGMENT.match(p) for p in parts):
        raise AgentError("format", f"repository {repository!r} is not <namespace>/<model>")
    if not _TAG.match(tag):
        raise AgentError("format", f"{tag!r} is not a valid version or alias")
    return parts[0], parts[1]


def alias_path(repository: str, alias: str) -> str:
    return f"{repository}/@alias/{alias}"


def manifest_path(repository: str, version: str) -> str:
    return f"{repository}/{version}/@manifest"


def file_path(repository: str, version: str, title: str) -> str:
    return f"{repository}/{version}/{quote(title, safe='')}"


def sha256_of(target: TargetFile) -> str:
    """``sha256:<hex>`` of a target; a target without sha256 is refused."""
    value = target.hashes.get("sha256")
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise AgentError("format", f"target {target.path} has no sha256 hash")
    return f"sha256:{value}"


def custom(target: TargetFile) -> dict[str, Any]:
    """A target's ``custom`` object; absent or not an object reads as empty."""
    value = target.custom
    return value if isinstance(value, dict) else {}
