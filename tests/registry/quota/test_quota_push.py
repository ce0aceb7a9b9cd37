"""Pushes over a namespace's quota are refused before their bytes are stored (both engines).

Usage counts every distinct blob linked into the namespace once, plus its manifests;
a refusal is 409 ``DENIED`` naming the quota and the usage, audited, and leaves no
blob file, no row and no upload session behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from tests.registry.quota.conftest import QuotaWorld
from tests.support.oci_client import oci_code
from tests.support.registry_helpers import sha256_digest


def _refused(response: Any, *, quota: int, used: int) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    assert oci_code(response) == "DENIED"
    (error,) = response.json()["errors"]
    assert "quota" in error["message"] and "namespace acme" in error["message"]
    assert error["detail"]["namespace"] == "acme"
    assert error["detail"]["quota_bytes"] == quota
    assert error["detail"]["used_bytes"] == used
    detail: dict[str, Any] = error["detail"]
    return detail


def _post(world: QuotaWorld, data: Any, digest: str, name: str = "acme/model") -> Any:
    return world.client.post(
        f"/v2/{name}/blobs/uploads/?digest={digest}", content=data, headers=world.oci.headers
    )


def test_usage_counts_each_blob_once_per_namespace_plus_manifests(world: QuotaWorld) -> None:
    shared, other = os.urandom(1000), os.urandom(500)
    world.oci.push_blob(shared, "acme/one")
    world.oci.push_blob(shared, "acme/two")
    world.oci.push_blob(other, "acme/two")
    assert world.used() == 1500  # the blob in two models of acme counts once
    assert world.used("beta") == 0

    body = world.oci.manifest([shared], name="acme/one")  # pushes "{}" (2 bytes) as config
    assert world.oci.put_manifest("1.0.0", body, name="acme/one").status_code == 201
    assert world.used() == 1500 + 2 + len(body)
    # The same manifest in another model of acme: stored again, counted once.
    world.oci.manifest([shared], name="acme/two")
    assert world.oci.put_manifest("1.0.0", body, name="acme/two").status_code == 201
    assert world.used() == 1500 + 2 + len(body)

    # Another namespace holding the same blob counts it in its own usage.
    pushed = world.client.post(
        f"/v2/beta/model/blobs/uploads/?digest={sha256_digest(shared)}",
        content=shared,
        headers=world.site,
    )
    assert pushed.status_code == 201, pushed.text
    assert (world.used("beta"), world.used()) == (1000, 1500 + 2 + len(body))


def test_monolithic_push_over_quota_is_refused_with_nothing_stored(world: QuotaWorld) -> None:
    assert world.set_quota("acme", 1000)["quota_bytes"] == 1000
    before = world.stored()
    big = os.urandom(1001)
    detail = _refused(_post(world, big, sha256_digest(big)), quota=1000, used=0)
    assert detail["requested_bytes"] == 1001
    assert world.stored() == before and not world.has_blob(sha256_digest(big))
    assert world.rows() == {"blobs": 0, "repository_blobs": 0, "upload_sessions": 0, "manifests": 0}
    (event,) = world.events("blob.push.refused")
    assert event["subject"] == f"acme/model@{sha256_digest(big)}"
    assert event["detail"]["quota_bytes"] == 1000

    fits = os.urandom(1000)
    assert _post(world, fits, sha256_digest(fits)).status_code == 201
    one_more = b"x"
    _refused(_post(world, one_more, sha256_digest(one_more)), quota=1000, used=1000)
    assert not world.has_blob(sha256_digest(one_more))  # refused early: the reading was kept
    # A blob the namespace already holds costs nothing, in any of its models.
    assert _post(world, fits, sha256_digest(fits), "acme/other").status_code == 201
    assert world.used() == 1000


def test_a_body_without_content_length_cannot_pass_the_quota(world: QuotaWorld) -> None:
    world.set_quota("acme", 1000)
    chunks = [os.urandom(600), os.urandom(600)]

    def body() -> Iterator[bytes]:
        yield from chunks

    digest = sha256_digest(b"".join(chunks))
    _refused(_post(world, body(), digest), quota=1000, used=0)
    assert not world.has_blob(digest)
    assert not [f for f in world.stored() if f.startswith(("sha256", "_uploads"))]
    assert world.rows()["blobs"] == 0


def _start(world: QuotaWorld) -> str:
    started = world.client.post("/v2/acme/model/blobs/uploads/", headers=world.oci.headers)
    assert started.status_code == 202, started.text
    location: str = started.headers["Location"]
    return location


def _session_gone(world: QuotaWorld, location: str) -> None:
    status = world.client.get(location, headers=world.oci.headers)
    assert status.status_code == 404 and oci_code(status) == "BLOB_UPLOAD_UNKNOWN"
    assert not [f for f in world.stored() if not f.startswith("sha256")]
    assert world.rows() == {"blobs": 0, "repository_blobs": 0, "upload_sessions": 0, "manifests": 0}


def test_a_chunk_that_would_pass_the_quota_discards_the_upload(world: QuotaWorld) -> None:
    world.set_quota("acme", 1000)
    location = _start(world)
    first = world.client.patch(location, content=os.urandom(600), headers=world.oci.headers)
    assert first.status_code == 202 and first.headers["Range"] == "0-599"
    second = world.client.patch(location, content=os.urandom(600), headers=world.oci.headers)
    detail = _refused(second, quota=1000, used=0)
    assert detail["requested_bytes"] == 1200  # the upload's size had it been accepted
    _session_gone(world, location)


def test_a_streamed_chunk_is_stopped_at_the_quota(world: QuotaWorld) -> None:
    world.set_quota("acme", 1000)
    location = _start(world)

    def body() -> Iterator[bytes]:
        for _ in range(4):
            yield os.urandom(400)

    _refused(
        world.client.patch(location, content=body(), headers=world.oci.headers), quota=1000, used=0
    )
    _session_gone(world, location)


def test_a_closing_chunk_over_the_quota_is_refused(world: QuotaWorld) -> None:
    world.set_quota("acme", 1000)
    location = _start(world)
    head, tail = os.urandom(600), os.urandom(600)
    assert world.client.patch(location, content=head, headers=world.oci.headers).status_code == 202
    closed = world.client.put(
        location,
        params={"digest": sha256_digest(head + tail)},
        content=tail,
        headers={**world.oci.headers, "Content-Range": "600-1199"},
    )
    _refused(closed, quota=1000, used=0)
    _session_gone(world, location)


def test_a_quota_lowered_during_an_upload_is_checked_before_it_is_stored(world: QuotaWorld) -> None:
    world.set_quota("acme", 1000)
    location = _start(world)
    data = os.urandom(800)
    assert world.client.patch(location, content=data, headers=world.oci.headers).status_code == 202
    world.set_quota("acme", 500)
    closed = world.client.put(
        location, params={"digest": sha256_digest(data)}, headers=world.oci.headers
    )
    _refused(closed, quota=500, used=0)
    assert not world.has_blob(sha256_digest(data))
    _session_gone(world, location)


def test_mounting_a_blob_counts_against_the_quota(world: QuotaWorld) -> None:
    data = os.urandom(1000)
    digest = sha256_digest(data)
    assert (
        world.client.post(
            f"/v2/beta/source/blobs/uploads/?digest={digest}", content=data, headers=world.site
        ).status_code
        == 201
    )
    world.set_quota("acme", 999)
    mounted = world.client.post(
        "/v2/acme/model/blobs/uploads/",
        params={"mount": digest, "from": "beta/source"},
        headers=world.site,
    )
    _refused(mounted, quota=999, used=0)
    assert world.rows()["repository_blobs"] == 1  # beta's link only
    assert world.events("blob.mount.refused")[0]["subject"] == f"acme/model@{digest}"

    world.set_quota("acme", 1000)
    mounted = world.client.post(
        "/v2/acme/model/blobs/uploads/",
        params={"mount": digest, "from": "beta/source"},
        headers=world.site,
    )
    assert mounted.status_code == 201, mounted.text
    assert world.used() == 1000


def test_a_manifest_over_the_quota_is_refused(world: QuotaWorld) -> None:
    layer = os.urandom(300)
    body = world.oci.manifest([layer])  # layer and "{}" config: 302 bytes
    world.set_quota("acme", 302 + len(body) - 1)
    refused = world.oci.put_manifest("1.0.0", body)
    _refused(refused, quota=302 + len(body) - 1, used=302)
    assert world.rows()["manifests"] == 0
    assert world.events("manifest.push.refused")[0]["detail"]["requested_bytes"] == len(body)

    world.set_quota("acme", 302 + len(body))
    assert world.oci.put_manifest("1.0.0", body).status_code == 201
    assert world.used() == 302 + len(body)
    # Pushing it again (or tagging it again) adds nothing, so a full namespace still may.
    assert world.oci.put_manifest(sha256_digest(body), body).status_code == 201


def test_without_a_quota_nothing_is_refused_and_clearing_lifts_it(world: QuotaWorld) -> None:
    world.set_quota("acme", 0)
    data = os.urandom(2000)
    _refused(_post(world, data, sha256_digest(data)), quota=0, used=0)
    assert world.set_quota("acme", None)["quota_bytes"] is None
    assert _post(world, data, sha256_digest(data)).status_code == 201
    assert world.used() == 2000


def test_a_recent_reading_lets_bytes_in_but_never_refuses_them(world: QuotaWorld) -> None:
    """The early check may reuse a reading of the usage from the last seconds; after a
    delete that reading is too high, and a push that fits is still accepted."""
    world.set_quota("acme", 1000)
    first = os.urandom(1000)
    assert _post(world, first, sha256_digest(first)).status_code == 201  # reading: 1000 used
    deleted = world.client.delete(
        f"/v2/acme/model/blobs/{sha256_digest(first)}", headers=world.oci.headers
    )
    assert deleted.status_code == 202, deleted.text
    second = os.urandom(1000)
    assert _post(world, second, sha256_digest(second)).status_code == 201
    location = _start(world)
    third = os.urandom(10)
    _refused(
        world.client.patch(location, content=third, headers=world.oci.headers),
        quota=1000,
        used=1000,
    )
