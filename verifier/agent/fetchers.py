"""Where TUF metadata comes from: the registry (with a bearer token) or a local directory.

Both are python-tuf ``FetcherInterface`` implementations, so ngclient's
``Updater`` does every check itself (signatures, thresholds, versions, hashes,
expiry, length limits); these classes only move bytes.

* :class:`RegistryFetcher` sends ``Authorization: Bearer <token>`` (namespace
  roles need pull rights unless the namespace allows anonymous pulls) and only to
  the registry's own origin, so a token never leaks to another host.
* :class:`DirectoryFetcher` serves a local mirror: a copy of the registry's
  ``/tuf/`` directory (``1.root.json``, ``timestamp.json``, ``N.snapshot.json``,
  ...) for air-gapped nodes, or, with ``trusted_copy=True``, the agent's own
  trusted metadata directory as ngclient stores it (``root_history/N.root.json``
  and unversioned ``role.json``), which lets an offline agent re-verify what it
  trusts without a network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from tuf.api.exceptions import DownloadError, DownloadHTTPError
from tuf.ngclient.fetcher import FetcherInterface

__all__ = ["MIRROR_BASE_URL", "DirectoryFetcher", "RegistryFetcher"]

MIRROR_BASE_URL = "mirror:/"
_CHUNK = 64 * 1024
_VERSIONED = re.compile(r"^(?P<version>[1-9][0-9]*)\.(?P<role>.+)\.json\Z")
_UNVERSIONED = re.compile(r"^(?P<role>.+)\.json\Z")


class RegistryFetcher(FetcherInterface):
    """Fetch metadata over HTTP(S) from one origin, with an optional bearer token."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self._origin = (parts.scheme, parts.netloc)
        self._token = token
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def _fetch(self, url: str) -> Iterator[bytes]:
        parts = urlsplit(url)
        headers = {}
        if self._token and (parts.scheme, parts.netloc) == self._origin:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            request = self._http.build_request("GET", url, headers=headers)
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise DownloadError(
                f"could not reach the registry at {parts.scheme}://{parts.netloc} "
                f"(GET {parts.path}: {type(exc).__name__}: {exc})"
            ) from None
        except httpx.HTTPError as exc:
            raise DownloadError(f"GET {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            response.close()
            raise DownloadHTTPError(f"GET {url}: HTTP {response.status_code}", response.status_code)
        return self._chunks(response, url)

    @staticmethod
    def _chunks(response: httpx.Response, url: str) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes(_CHUNK)
        except httpx.HTTPError as exc:
            raise DownloadError(f"GET {url}: {type(exc).__name__}: {exc}") from None
        finally:
            response.close()


class DirectoryFetcher(FetcherInterface):
    """Serve ``mirror:/NAME`` from a directory; a missing file is an HTTP-like 404."""

    def __init__(self, root: str | Path, *, trusted_copy: bool = False) -> None:
        self._root = Path(root)
        self._trusted_copy = trusted_copy

    def _path(self, name: str) -> Path | None:
        if "/" in name or "\\" in name or name in {"", ".", ".."} or "\0" in name:
            return None
        if not self._trusted_copy:
            return self._root / name
        versioned = _VERSIONED.match(name)
        if versioned and versioned["role"] == "root":
            return self._root / "root_history" / f"{versioned['version']}.root.json"
        # ngclient stores the newest trusted copy of a role unversioned; it checks
        # the version it asked for itself (snapshot and targets versions are signed).
        match = versioned or _UNVERSIONED.match(name)
        return self._root / f"{match['role']}.json" if match else None

    def _fetch(self, url: str) -> Iterator[bytes]:
        if not url.startswith(MIRROR_BASE_URL):
            raise DownloadHTTPError(f"{url}: not a mirror URL", 404)
        path = self._path(unquote(url.removeprefix(MIRROR_BASE_URL)))
        if path is None or not path.is_file():
            raise DownloadHTTPError(f"{url}: not in the mirror", 404)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DownloadError(f"{url}: {exc.strerror}") from None
        return iter([data])
