"""``/v2/`` under hostile input: every request below is a 4xx with an OCI error body.

One table, run on both engines: malformed digests, ranges, ``Content-Range`` and
``Content-Length``; repository names and tags no registry should accept; JSON
nested deep or grown huge; upload sessions of another repository or already
finished; NUL, lone surrogates, invalid UTF-8 and integers of thousands of
digits wherever they can be put. None may answer a 500 (the fuzzer's target)
and none may leave a manifest, tag or upload behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import DatabaseSettings, Settings
from tests.support.databases import fresh_database
from tests.support.oci_client import OCI_MANIFEST, Oci
from tests.support.registry_helpers import bearer, issue_token, sha256_digest

LAYER = b"weights " * 64
CONFIG = b"{}"
NAME = "acme/model"
HUGE = "1" + "0" * 5000  # past Python's 4,300-digit int conversion limit
BIG = str(2**63)  # one past a signed 64-bit column
BAD_HEX = "sha256:" + "z" * 64


@dataclass
class World:
    """What the table's requests refer to: a stored blob and upload sessions."""

    oci: Oci
    blob: str = ""
    session: str = ""  # open, in acme/model
    foreign: str = ""  # open, in acme/other
    finished: str = ""  # closed, in acme/model

    def manifest(self, **changes: Any) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": sha256_digest(CONFIG),
                "size": len(CONFIG),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.cncf.model.weight.v1.raw",
                    "digest": self.blob,
                    "size": len(LAYER),
                    "annotations": {"org.opencontainers.image.title": "model.bin"},
                }
            ],
        }
        document.update(changes)
        return document


Body = bytes | Callable[[World], bytes]


@dataclass
class Case:
    id: str
    method: str
    path: str
    body: Body = b""
    headers: dict[str, str | bytes] = field(default_factory=dict)
    codes: frozenset[str] = frozenset()
    status: int | None = None


def case(
    id: str,
    method: str,
    path: str,
    *codes: str,
    body: Body = b"",
    headers: dict[str, str | bytes] | None = None,
    status: int | None = None,
) -> Any:
    return pytest.param(
        Case(id, method, path, body, headers or {}, frozenset(codes), status), id=id
    )


def _json(value: Any) -> Callable[[World], bytes]:
    """A manifest built from the world (a function of it), serialised with ASCII escapes."""

    def build(world: World) -> bytes:
        document = value(world) if callable(value) else value
        return json.dumps(document).encode()

    return build


def _raw(text_of: Callable[[World], str]) -> Callable[[World], bytes]:
    return lambda world: text_of(world).encode("utf-8", "surrogatepass")


def _title(title: str) -> Callable[[World], bytes]:
    def build(world: World) -> bytes:
        document = world.manifest()
        document["layers"][0]["annotations"]["org.opencontainers.image.title"] = title
        return json.dumps(document).encode()  # ensure_ascii: NUL as \u0000, surrogates as \udXXX

    return build


def _layer(**changes: Any) -> Callable[[World], bytes]:
    def build(world: World) -> bytes:
        document = world.manifest()
        document["layers"][0].update(changes)
        return json.dumps(document).encode()

    return build


B = f"/v2/{NAME}/blobs"
M = f"/v2/{NAME}/manifests"
U = f"/v2/{NAME}/blobs/uploads"

CASES = [
    # -- digests -------------------------------------------------------------------
    case("digest-not-hex", "GET", f"{B}/{BAD_HEX}", "DIGEST_INVALID"),
    case("digest-upper-case", "GET", f"{B}/sha256:{'A' * 64}", "DIGEST_INVALID"),
    case("digest-short", "HEAD", f"{B}/sha256:{'a' * 63}", status=400),
    case("digest-md5", "GET", f"{B}/md5:{'a' * 32}", "DIGEST_INVALID"),
    case("digest-trailing-newline", "GET", f"{B}/sha256:{'a' * 64}%0A", "DIGEST_INVALID"),
    case("digest-thousands-of-chars", "GET", f"{B}/sha256:{'a' * 5000}", "DIGEST_INVALID"),
    case("digest-on-monolithic-upload", "POST", f"{U}/?digest=sha256:abc", "DIGEST_INVALID"),
    case("digest-on-close", "PUT", f"{U}/{{session}}?digest={BAD_HEX}", "DIGEST_INVALID"),
    case("digest-on-mount", "POST", f"{U}/?mount=sha256:abc&from=acme/other", "DIGEST_INVALID"),
    case("digest-of-referrers", "GET", f"/v2/{NAME}/referrers/{BAD_HEX}", "DIGEST_INVALID"),
    case("digest-manifest-reference", "GET", f"{M}/sha256:zz", "DIGEST_INVALID"),
    case("digest-delete-blob", "DELETE", f"{B}/sha256:", "DIGEST_INVALID"),
    # -- Range -----------------------------------------------------------------------
    case("range-backwards", "GET", f"{B}/{{blob}}", headers={"Range": "bytes=5-2"}, status=416),
    case("range-past-end", "GET", f"{B}/{{blob}}", headers={"Range": f"bytes={BIG}-"}, status=416),
    case("range-huge", "GET", f"{B}/{{blob}}", headers={"Range": f"bytes={HUGE}-"}, status=416),
    case(
        "range-huge-end", "GET", f"{B}/{{blob}}", headers={"Range": f"bytes=0-{HUGE}"}, status=416
    ),
    case("range-empty-suffix", "GET", f"{B}/{{blob}}", headers={"Range": "bytes=-0"}, status=416),
    case("range-not-bytes", "GET", f"{B}/{{blob}}", headers={"Range": "items=0-1"}, status=416),
    case("range-multi", "GET", f"{B}/{{blob}}", headers={"Range": "bytes=0-1,4-5"}, status=416),
    case(
        "range-unicode-digits",
        "GET",
        f"{B}/{{blob}}",
        headers={"Range": "bytes=\u0660-\u0663".encode()},
        status=416,
    ),
    # -- Content-Range and Content-Length on uploads --------------------------------------
    case(
        "content-range-garbage",
        "PATCH",
        f"{U}/{{session}}",
        "BLOB_UPLOAD_INVALID",
        body=b"x",
        headers={"Content-Range": "abc"},
    ),
    case(
        "content-range-backwards",
        "PATCH",
        f"{U}/{{session}}",
        "BLOB_UPLOAD_INVALID",
        body=b"x",
        headers={"Content-Range": "5-2"},
    ),
    case(
        "content-range-out-of-order",
        "PATCH",
        f"{U}/{{session}}",
        "BLOB_UPLOAD_INVALID",
        body=b"x",
        headers={"Content-Range": "10-10"},
        status=416,
    ),
    case(
        "content-range-huge",
        "PATCH",
        f"{U}/{{session}}",
        "BLOB_UPLOAD_INVALID",
        body=b"x",
        headers={"Content-Range": f"{HUGE}-{HUGE}"},
    ),
    case(
        "content-range-past-int64",
        "PATCH",
        f"{U}/{{session}}",
        "BLOB_UPLOAD_INVALID",
        body=b"x",
        headers={"Content-Range": f"{BIG}0-{BIG}0"},
    ),
    case(
        "content-length-not-a-number",
        "PUT",
        f"{M}/v1.0.0",
        "UNSUPPORTED",
        body=b"{}",
        headers={"Content-Length": "abc"},
    ),
    case(
        "content-length-huge",
        "PATCH",
        f"{U}/{{session}}",
        "UNSUPPORTED",
        body=b"x",
        headers={"Content-Length": HUGE},
    ),
    case(
        "content-length-negative",
        "PUT",
        f"{M}/v1.0.0",
        "UNSUPPORTED",
        body=b"{}",
        headers={"Content-Length": "-1"},
    ),
    # -- repository names and tags -----------------------------------------------------
    case("name-upper-case", "POST", "/v2/Acme/Model/blobs/uploads/", "NAME_INVALID"),
    case("name-one-part", "POST", "/v2/single/blobs/uploads/", "NAME_INVALID"),
    case("name-three-parts", "GET", "/v2/acme/model/extra/tags/list", "NAME_INVALID"),
    case("name-too-long", "POST", f"/v2/acme/{'m' * 300}/blobs/uploads/", "NAME_INVALID"),
    case("name-dot-dot", "POST", "/v2/acme/%2e%2e/blobs/uploads/", "NAME_INVALID"),
    case("name-dot-dot-raw", "GET", "/v2/acme/../tags/list", "NAME_INVALID", "NAME_UNKNOWN"),
    case(
        "name-trailing-newline",
        "POST",
        "/v2/acme/model%0A/blobs/uploads/",
        "NAME_INVALID",
        "NAME_UNKNOWN",
    ),
    case("name-nul", "POST", "/v2/acme/mo%00del/blobs/uploads/", "UNSUPPORTED"),
    case("name-invalid-utf8", "GET", "/v2/acme/mod%FFel/tags/list", "UNSUPPORTED"),
    case("name-lone-surrogate", "GET", "/v2/acme/mod%ED%A0%80el/tags/list", "UNSUPPORTED"),
    case("name-reserved", "POST", "/v2/root/model/blobs/uploads/", "NAME_INVALID"),
    case("tag-trailing-newline", "PUT", f"{M}/v1%0A", "TAG_INVALID", body=_json(World.manifest)),
    case("tag-too-long", "PUT", f"{M}/{'v' * 200}", "TAG_INVALID", body=_json(World.manifest)),
    case("tag-nul", "GET", f"{M}/v1%00", "UNSUPPORTED"),
    # -- manifests: deep, huge, malformed ------------------------------------------------
    case("json-deep-arrays", "PUT", f"{M}/v1.0.0", "MANIFEST_INVALID", body=b"[" * 100_000),
    case(
        "json-deep-objects",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    ),
    case("json-huge", "PUT", f"{M}/v1.0.0", "SIZE_INVALID", body=b" " * (5 * 1024 * 1024)),
    case("json-not-utf8", "PUT", f"{M}/v1.0.0", "MANIFEST_INVALID", body=b'{"a":"\xff"}'),
    case(
        "json-raw-surrogate",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=b'{"schemaVersion":2,"a":"\xed\xa0\x80"}',
    ),
    case(
        "json-huge-integer",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=f'{{"schemaVersion":{HUGE}}}'.encode(),
    ),
    case(
        "json-huge-size",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_raw(
            lambda w: json.dumps(w.manifest()).replace(f'"size": {len(LAYER)}', f'"size": {HUGE}')
        ),
    ),
    case("json-size-past-int64", "PUT", f"{M}/v1.0.0", "MANIFEST_INVALID", body=_layer(size=2**63)),
    case(
        "json-size-infinite",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_raw(
            lambda w: json.dumps(w.manifest()).replace(f'"size": {len(LAYER)}', '"size": 1e999999')
        ),
    ),
    case(
        "json-media-type-surrogate",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_layer(mediaType="\ud800"),
    ),
    case(
        "json-media-type-nul",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_layer(mediaType="application/x\u0000y"),
    ),
    case(
        "json-title-nul", "PUT", f"{M}/v1.0.0", "MANIFEST_INVALID", body=_title("model\u0000.bin")
    ),
    case(
        "json-title-surrogate",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_title("model\udfff.bin"),
    ),
    case(
        "json-key-nul",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_json(lambda w: w.manifest(annotations={"a\u0000b": "c"})),
    ),
    case(
        "json-artifact-type-nul",
        "PUT",
        f"{M}/v1.0.0",
        "MANIFEST_INVALID",
        body=_json(lambda w: w.manifest(artifactType="x\u0000")),
    ),
    case(
        "json-content-type-nul",
        "PUT",
        f"{M}/v1.0.0",
        "UNSUPPORTED",
        body=_json(World.manifest),
        headers={"Content-Type": OCI_MANIFEST + "\x00"},
    ),
    # -- upload sessions -------------------------------------------------------------------
    case("session-foreign-patch", "PATCH", f"{U}/{{foreign}}", "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    case("session-foreign-status", "GET", f"{U}/{{foreign}}", "BLOB_UPLOAD_UNKNOWN"),
    case("session-foreign-close", "PUT", f"{U}/{{foreign}}?digest={{blob}}", "BLOB_UPLOAD_UNKNOWN"),
    case("session-foreign-cancel", "DELETE", f"{U}/{{foreign}}", "BLOB_UPLOAD_UNKNOWN"),
    case("session-finished-patch", "PATCH", f"{U}/{{finished}}", "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    case(
        "session-finished-close", "PUT", f"{U}/{{finished}}?digest={{blob}}", "BLOB_UPLOAD_UNKNOWN"
    ),
    case("session-finished-status", "GET", f"{U}/{{finished}}", "BLOB_UPLOAD_UNKNOWN"),
    case("session-made-up", "GET", f"{U}/{'f' * 32}", "BLOB_UPLOAD_UNKNOWN"),
    case("session-too-long", "PATCH", f"{U}/{'a' * 5000}", "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    case("session-dot-dot", "PATCH", f"{U}/%2e%2e", "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    case("session-nul", "GET", f"{U}/ab%00cd", "UNSUPPORTED"),
    case("session-close-without-digest", "PUT", f"{U}/{{session}}", "BLOB_UPLOAD_INVALID"),
    # -- query parameters --------------------------------------------------------------------
    case("tags-n-negative", "GET", f"/v2/{NAME}/tags/list?n=-1", "UNSUPPORTED"),
    case("tags-n-past-int64", "GET", f"/v2/{NAME}/tags/list?n={BIG}", "UNSUPPORTED"),
    case("tags-n-huge", "GET", f"/v2/{NAME}/tags/list?n={HUGE}", "UNSUPPORTED"),
    case("tags-n-unicode-digits", "GET", f"/v2/{NAME}/tags/list?n=%D9%A3", "UNSUPPORTED"),
    case("tags-last-nul", "GET", f"/v2/{NAME}/tags/list?last=a%00b", "UNSUPPORTED"),
    case("tags-last-surrogate", "GET", f"/v2/{NAME}/tags/list?last=%ED%A0%80", "UNSUPPORTED"),
    case(
        "referrers-type-nul",
        "GET",
        f"/v2/{NAME}/referrers/{{blob}}?artifactType=a%00b",
        "UNSUPPORTED",
    ),
    case(
        "referrers-type-not-utf8",
        "GET",
        f"/v2/{NAME}/referrers/{{blob}}?artifactType=%C0",
        "UNSUPPORTED",
    ),
    case("mount-from-nul", "POST", f"{U}/?mount={{blob}}&from=acme/o%00ther", "UNSUPPORTED"),
    case("upload-digest-nul", "POST", f"{U}/?digest=sha256:%00", "UNSUPPORTED", body=b"x"),
    # -- headers -----------------------------------------------------------------------------
    case("header-nul", "GET", f"/v2/{NAME}/tags/list", "UNSUPPORTED", headers={"X-Any": "a\x00b"}),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One registry per engine for the whole table: no case may change what it holds."""
    root = tmp_path_factory.mktemp("hostile")
    url = fresh_database(request, root)
    settings = Settings(data_dir=root / "data", database=DatabaseSettings(url=url))
    secret = issue_token(url)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        oci = Oci(client, bearer(secret))
        found = World(oci)
        oci.push_blob(CONFIG)
        found.blob = oci.push_blob(LAYER)
        found.session = _start(oci, NAME)
        found.foreign = _start(oci, "acme/other")
        found.finished = _start(oci, NAME)
        closed = oci.client.put(
            f"{U}/{found.finished}?digest={found.blob}", content=LAYER, headers=oci.headers
        )
        assert closed.status_code == 201, closed.text
        yield found


def _start(oci: Oci, name: str) -> str:
    response = oci.client.post(f"/v2/{name}/blobs/uploads/", headers=oci.headers)
    assert response.status_code == 202, response.text
    upload_id: str = response.headers["Docker-Upload-UUID"]
    return upload_id


@pytest.mark.parametrize("hostile", CASES)
def test_hostile_input_is_a_4xx_with_an_oci_error(world: World, hostile: Case) -> None:
    oci = world.oci
    path = hostile.path.format(
        blob=world.blob, session=world.session, foreign=world.foreign, finished=world.finished
    )
    body = hostile.body(world) if callable(hostile.body) else hostile.body
    headers = {**oci.headers, "Content-Type": OCI_MANIFEST, **hostile.headers}
    response = oci.client.request(hostile.method, path, content=body, headers=headers)

    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if hostile.status is not None:
        assert response.status_code == hostile.status, response.text[:300]
    if hostile.method != "HEAD":
        errors = response.json()["errors"]
        assert isinstance(errors, list) and len(errors) == 1
        assert set(errors[0]) >= {"code", "message"}
        assert isinstance(errors[0]["message"], str) and errors[0]["message"]
        if hostile.codes:
            assert errors[0]["code"] in hostile.codes, errors[0]

    # Nothing half-stored: no tag, no new manifest, the open session still empty.
    tags = oci.client.get(f"/v2/{NAME}/tags/list", headers=oci.headers)
    assert tags.json()["tags"] == []
    status = oci.client.get(f"{U}/{world.session}", headers=oci.headers)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-0"
