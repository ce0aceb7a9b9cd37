"""Nothing a version needs can be deleted from under it: index children, their blobs,
and the signatures and SBOMs about it. A refused deletion answers 409 DENIED."""

from __future__ import annotations

import json

from tests.support.oci_client import OCI_INDEX, Oci, descriptor_of, oci_code
from tests.support.registry_helpers import sha256_digest

SIG_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
OTHER_TYPE = "application/vnd.example.note+json"


def _push_index_version(oci: Oci, version: str = "1.0.0") -> tuple[bytes, list[bytes]]:
    children = [oci.manifest([b"part one"]), oci.manifest([b"part two"])]
    for child in children:
        assert oci.put_manifest(sha256_digest(child), child).status_code == 201
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor_of(child) for child in children],
        }
    ).encode()
    put = oci.client.put(
        f"/v2/acme/model/manifests/{version}",
        content=index,
        headers={**oci.headers, "Content-Type": OCI_INDEX},
    )
    assert put.status_code == 201, put.text
    return index, children


def _pullable(oci: Oci, index: bytes, children: list[bytes]) -> None:
    """Everything ``skopeo copy --all`` fetches: the index, each child, each of its blobs."""
    accept = {**oci.headers, "Accept": OCI_INDEX}
    got = oci.client.get("/v2/acme/model/manifests/1.0.0", headers=accept)
    assert got.status_code == 200 and got.content == index
    for child in children:
        fetched = oci.client.get(f"/v2/acme/model/manifests/{sha256_digest(child)}", headers=accept)
        assert fetched.status_code == 200 and fetched.content == child
        document = json.loads(child)
        for descriptor in [document["config"], *document["layers"]]:
            blob = oci.client.get(f"/v2/acme/model/blobs/{descriptor['digest']}", headers=accept)
            assert blob.status_code == 200


def test_a_child_of_a_version_index_and_its_blobs_cannot_be_deleted(oci: Oci):
    index, children = _push_index_version(oci)
    child = sha256_digest(children[0])
    refused = oci.client.delete(f"/v2/acme/model/manifests/{child}", headers=oci.headers)
    assert refused.status_code == 409
    assert oci_code(refused) == "DENIED"
    message = refused.json()["errors"][0]["message"]
    assert sha256_digest(index) in message and "index" in message
    layer = json.loads(children[1])["layers"][0]["digest"]
    unlink = oci.client.delete(f"/v2/acme/model/blobs/{layer}", headers=oci.headers)
    assert unlink.status_code == 409
    assert oci_code(unlink) == "DENIED"
    _pullable(oci, index, children)
    listed = oci.client.get("/api/v1/models/acme/model/versions", headers=oci.headers)
    assert [v["version"] for v in listed.json()["versions"]] == ["1.0.0"]


def test_a_child_of_an_alias_only_index_is_protected_too(oci: Oci):
    children = [oci.manifest([b"scratch"])]
    assert oci.put_manifest(sha256_digest(children[0]), children[0]).status_code == 201
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor_of(children[0])]}
    ).encode()
    index_digest = sha256_digest(index)
    headers = {**oci.headers, "Content-Type": OCI_INDEX}
    assert (
        oci.client.put(
            f"/v2/acme/model/manifests/{index_digest}", content=index, headers=headers
        ).status_code
        == 201
    )
    child = f"/v2/acme/model/manifests/{sha256_digest(children[0])}"
    assert oci.client.delete(child, headers=oci.headers).status_code == 409
    # Once the index is gone, its child can go.
    gone = oci.client.delete(f"/v2/acme/model/manifests/{index_digest}", headers=oci.headers)
    assert gone.status_code == 202
    assert oci.client.delete(child, headers=oci.headers).status_code == 202


def test_the_signature_of_a_version_is_kept_but_other_referrers_may_go(oci: Oci):
    subject = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", subject).status_code == 201
    signature = oci.manifest([b"bundle"], artifact_type=SIG_TYPE, subject=descriptor_of(subject))
    note = oci.manifest([b"note"], artifact_type=OTHER_TYPE, subject=descriptor_of(subject))
    for body in (signature, note):
        assert oci.put_manifest(sha256_digest(body), body).status_code == 201
    url = "/v2/acme/model/manifests/"
    refused = oci.client.delete(url + sha256_digest(signature), headers=oci.headers)
    assert refused.status_code == 409 and oci_code(refused) == "DENIED"
    assert "version 1.0.0" in refused.json()["errors"][0]["message"]
    assert oci.client.delete(url + sha256_digest(note), headers=oci.headers).status_code == 202
    referrers = oci.client.get(
        f"/v2/acme/model/referrers/{sha256_digest(subject)}", headers=oci.headers
    )
    assert [d["digest"] for d in referrers.json()["manifests"]] == [sha256_digest(signature)]
