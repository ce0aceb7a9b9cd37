"""A small OCI Distribution client, read side: what ``custody pull`` and the edge agent speak.

It never trusts the network: every manifest and blob it returns or writes has
been checked against its digest, a manifest or error answer is read only up to
a byte limit, a blob (its size known) only up to that size, and downloads
are resumable with ``Range`` into a ``.partial`` file that becomes visible only
once verified. Publishing (blob uploads, manifest puts) is
:class:`verifier.clients.push.PushClient`, built on this class.

Authentication: a Custody token is sent as a Bearer credential; if a registry
answers 401/403 with a Bearer challenge (any Docker-style registry), the client
fetches a short-lived token from the challenge's realm with the Custody token
as the Basic password, and retries once.

Failures fall into the two families of :mod:`verifier.errors`: :class:`FetchError`
(could not get it: network, HTTP status) and :class:`~verifier.errors.IntegrityError`
(got it, and the bytes are not the ones asked for).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from signing.digests import Digest
from signing.media_types import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from verifier.clients._http_errors import (
    error_body,
    error_text,
    explain,
    token_challenge,
    token_info,
)
from verifier.errors import FetchError, IntegrityError

__all__ = ["FetchError", "FetchedManifest", "ManifestTooLarge", "RegistryClient", "read_at_most"]

MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
_READ_BYTES = 1024 * 1024
#: The largest manifest a client reads (the registry's own default limit): a registry that
#: answers with more is refused before the rest of the body is read.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
#: The largest JSON answer (tags, referrers, lifecycle API) a client reads.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: How much of an error answer is read to show its message.
_ERROR_BODY_BYTES = 64 * 1024
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
#: Redirects a blob download follows (a registry may send the bytes from elsewhere).
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 3

Progress = Callable[[int], None]


class ManifestTooLarge(FetchError):
    """The registry answered a manifest request with more bytes than any manifest may hold."""


@dataclass(frozen=True, slots=True)
class FetchedManifest:
    body: bytes
    media_type: str
    digest: str

    def json(self) -> dict[str, Any]:
        document = json.loads(self.body)
        if not isinstance(document, dict):
            raise FetchError("manifest is not a JSON object")
        return document


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``: the spelling a digest takes in a URL or a descriptor."""
    return str(Digest.of_bytes(data))


def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of the body (one more than allowed says it was too long)."""
    try:
        return response.content[: limit + 1]  # already read (a call made without stream)
    except httpx.ResponseNotRead:
        pass
    kept = bytearray()
    try:
        for block in response.iter_bytes():
            kept += block[: limit + 1 - len(kept)]
            if len(kept) > limit:
                break
    except httpx.HTTPError as exc:
        raise FetchError(f"{response.request.url.path}: {type(exc).__name__}: {exc}") from None
    return bytes(kept)


class RegistryClient:
    """Talks to one registry (``http://host:port``) with one credential."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._token = token
        self._bearer: str | None = token
        self._origin = (urlsplit(self.base_url).scheme, urlsplit(self.base_url).netloc)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------

    def _request(
        self, method: str, url: str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """One call, re-authenticated once on a Bearer challenge.

        With ``stream`` the body is not read: the caller reads it (bounded) and closes it.
        """
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in range(2):
            if self._bearer:
                headers["Authorization"] = f"Bearer {self._bearer}"
            try:
                request = self._http.build_request(method, url, headers=headers, **kwargs)
                response = self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise FetchError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
            if response.status_code in {401, 403} and attempt == 0 and self._token:
                challenge = response.headers.get("www-authenticate", "")
                if token_challenge(challenge):
                    response.close()
                    self._bearer = self._fetch_access_token(challenge)
                    continue
            return response
        return response

    def _fetch_access_token(self, challenge: str) -> str:
        params = dict(_CHALLENGE_RE.findall(challenge))
        realm = params.pop("realm")
        query = {k: v for k, v in params.items() if k in {"service", "scope"}}
        try:
            response = self._http.get(realm, params=query, auth=("custody", self._token or ""))
        except httpx.HTTPError as exc:
            raise FetchError(f"token endpoint {realm}: {exc}") from None
        if response.status_code != 200:
            message, code = error_text(
                response.status_code, response.reason_phrase, response.content
            )
            hint = explain(response.status_code, code, "GET", realm, message, has_token=True)
            raise FetchError(
                f"token endpoint refused the credential: {message}" + (f"; {hint}" if hint else ""),
                status=response.status_code,
                code=code,
            )
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise FetchError("token endpoint answered without a token")
        return token

    def _expect(self, response: httpx.Response, *statuses: int, what: str) -> httpx.Response:
        if response.status_code not in statuses:
            body = read_at_most(response, _ERROR_BODY_BYTES)
            if response.request.method == "HEAD" and not body:
                body = error_body(self._http, response.request.url.raw_path.decode(), self._bearer)
            raise self._failure(
                what,
                response.status_code,
                response.reason_phrase,
                body,
                response.request.method,
                response.request.url.path,
            )
        return response

    def _failure(
        self, what: str, status: int, reason: str, body: bytes, method: str, path: str
    ) -> FetchError:
        """One error for every failed call: the registry's message, then the likely cause."""
        message, code = error_text(status, reason, body)
        token = token_info(self._http, self._token) if status == 403 else None
        hint = explain(
            status, code, method, path, message, has_token=self._token is not None, token=token
        )
        text = f"{what}: {message} (HTTP {status}{' ' + code if code else ''})"
        return FetchError(text + (f"; {hint}" if hint else ""), status=status, code=code)

    def _bounded(
        self, method: str, url: str, *statuses: int, what: str, **kwargs: Any
    ) -> tuple[bytes, httpx.Response]:
        """The body of a JSON answer, refused once it passes :data:`MAX_JSON_BYTES`."""
        response = self._request(method, url, stream=True, **kwargs)
        try:
            self._expect(response, *statuses, what=what)
            body = read_at_most(response, MAX_JSON_BYTES)
        finally:
            response.close()
        if len(body) > MAX_JSON_BYTES:
            raise FetchError(f"{what}: the registry sent more than {MAX_JSON_BYTES} bytes")
        return body, response

    # -- manifests and tags ---------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        what = f"manifest {repository}:{reference}"
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            stream=True,
            headers={"Accept": MANIFEST_ACCEPT},
        )
        try:
            self._expect(response, 200, what=what)
            body = read_at_most(response, MAX_MANIFEST_BYTES)
        finally:
            response.close()
        if len(body) > MAX_MANIFEST_BYTES:
            raise ManifestTooLarge(
                f"{what}: the registry sent more than {MAX_MANIFEST_BYTES} bytes; "
                "no manifest is that large"
            )
        digest = str(Digest.of_bytes(body))
        if ":" in reference and reference != digest:
            raise IntegrityError(f"manifest {reference} has digest {digest}")
        claimed = response.headers.get("docker-content-digest")
        if claimed and claimed != digest:
            raise IntegrityError(f"registry says manifest {claimed}, bytes are {digest}")
        media_type = response.headers.get("content-type", "").split(";")[0]
        return FetchedManifest(body, media_type, digest)

    def list_tags(self, repository: str) -> list[str]:
        tags: list[str] = []
        url: str | None = f"/v2/{repository}/tags/list?n=1000"
        while url:
            body, response = self._bounded("GET", url, 200, what=f"tags of {repository}")
            tags.extend(json.loads(body).get("tags") or [])
            link = response.headers.get("link")
            url = link.split(";")[0].strip("<> ") if link else None
        return tags

    def referrers(
        self, repository: str, digest: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"artifactType": artifact_type} if artifact_type else None
        body, _ = self._bounded(
            "GET",
            f"/v2/{repository}/referrers/{digest}",
            200,
            what=f"referrers of {digest}",
            params=params,
        )
        manifests = json.loads(body).get("manifests") or []
        return [m for m in manifests if isinstance(m, dict)]

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the lifecycle API (``/api/v1/...``) and return its JSON."""
        body, _ = self._bounded(method, path, 200, 201, 204, what=f"{method} {path}", **kwargs)
        return json.loads(body) if body else None

    # -- blobs ----------------------------------------------------------------------

    def download_blob(
        self,
        repository: str,
        digest: str,
        destination: Path,
        *,
        size: int | None = None,
        progress: Progress | None = None,
        extra_hash: Callable[[], Any] | None = None,
    ) -> Any:
        """Download into ``destination``, resuming a ``.partial`` file; verify, then rename.

        With ``size``, a body longer than ``size`` bytes is cut off and refused (an
        endless-data response cannot fill the disk). ``extra_hash`` makes a second
        hash object (e.g. ``blake3.blake3``) fed the very same bytes; it is returned.
        """
        partial = destination.with_name(destination.name + ".partial")
        destination.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        extra = extra_hash() if extra_hash else None
        offset = 0
        if partial.exists():
            with partial.open("rb") as handle:
                while block := handle.read(_READ_BYTES):
                    hasher.update(block)
                    if extra is not None:
                        extra.update(block)
                    offset += len(block)
            if progress and offset:
                progress(offset)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        if size is not None and offset >= size:
            headers = {}
            hasher, offset = hashlib.sha256(), 0
            extra = extra_hash() if extra_hash else None
            partial.unlink()
        response, connection = self._raw_get(f"/v2/{repository}/blobs/{digest}", headers)
        try:
            if response.status == 200 and offset:
                hasher, offset = hashlib.sha256(), 0  # the registry ignored the range
                extra = extra_hash() if extra_hash else None
            buffer = bytearray(_READ_BYTES)
            view = memoryview(buffer)
            received = offset
            with partial.open("ab" if response.status == 206 else "wb") as out:
                while count := response.readinto(view):
                    received += count
                    if size is not None and received > size:
                        out.close()
                        partial.unlink(missing_ok=True)
                        raise IntegrityError(f"blob {digest} is longer than its {size} bytes")
                    hasher.update(view[:count])
                    if extra is not None:
                        extra.update(view[:count])
                    out.write(view[:count])
                    if progress:
                        progress(count)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise FetchError(f"download of {digest} failed: {exc}") from None
        finally:
            connection.close()
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            partial.unlink(missing_ok=True)
            raise IntegrityError(f"blob {digest} downloaded as {actual}; discarded")
        partial.replace(destination)
        return extra

    def _raw_get(
        self, path: str, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """GET a blob with the standard library's client.

        Measured here, httpx streams a large body at ~0.2-0.3 GB/s and
        ``http.client.readinto`` at ~0.6-0.7 GB/s, so bulk bytes take this path
        while control calls keep httpx.
        """
        parsed = urlsplit(self.base_url)
        for attempt in range(2):
            response, connection = self._connect(parsed.scheme, parsed.netloc, path, headers)
            if response.status in {200, 206}:
                return response, connection
            if response.status in _REDIRECTS and response.getheader("location"):
                return self._follow(response, connection, path, headers)
            body = response.read()
            connection.close()
            challenge = response.getheader("www-authenticate") or ""
            if (
                response.status in {401, 403}
                and attempt == 0
                and self._token
                and token_challenge(challenge)
            ):
                self._bearer = self._fetch_access_token(challenge)
                continue
            raise self._failure(
                f"blob {path.rsplit('/', 1)[-1]}",
                response.status,
                response.reason,
                body,
                "GET",
                path,
            )
        raise FetchError(f"blob {path}: authentication failed")  # pragma: no cover

    def _connect(
        self, scheme: str, netloc: str, target: str, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """One GET; the registry's credential goes only to the registry's own origin."""
        connection_class = (
            http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(netloc, timeout=self._timeout)
        request_headers = dict(headers)
        if self._bearer and (scheme, netloc) == self._origin:
            request_headers["Authorization"] = f"Bearer {self._bearer}"
        try:
            connection.request("GET", target, headers=request_headers)
            return connection.getresponse(), connection
        except OSError as exc:
            connection.close()
            raise FetchError(f"GET {urlsplit(target).path}: {exc}") from None

    def _follow(
        self,
        response: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        path: str,
        headers: dict[str, str],
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """Follow the registry's redirect of a blob GET (e.g. to a presigned S3 URL).

        The same ``Range`` goes along; ``Authorization`` only if the target is the
        registry's own origin (a presigned URL carries its own credential, and the
        registry's must never reach another host). The bytes are verified by the
        caller exactly as if the registry had sent them. A presigned URL is itself a
        credential: errors name the host, never the URL.
        """
        what = f"blob {path.rsplit('/', 1)[-1]}"
        current = f"{self.base_url}{path}"
        for _ in range(_MAX_REDIRECTS):
            location = response.getheader("location") or ""
            response.read()
            connection.close()
            current = urljoin(current, location)
            target = urlsplit(current)
            if target.scheme not in {"http", "https"} or not target.netloc:
                raise FetchError(f"{what}: the registry redirected to a non-HTTP location")
            response, connection = self._connect(
                target.scheme,
                target.netloc,
                target.path + (f"?{target.query}" if target.query else ""),
                headers,
            )
            if response.status in {200, 206}:
                return response, connection
            if response.status not in _REDIRECTS or not response.getheader("location"):
                body = response.read(_ERROR_BODY_BYTES)
                connection.close()
                detail = body[:200].decode("utf-8", "replace").strip()
                raise FetchError(
                    f"{what}: {target.netloc} (where the registry redirected the download) "
                    f"answered HTTP {response.status}" + (f": {detail}" if detail else ""),
                    status=response.status,
                )
        connection.close()
        raise FetchError(f"{what}: more than {_MAX_REDIRECTS} redirects")
