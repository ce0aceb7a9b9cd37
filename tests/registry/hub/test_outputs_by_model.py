"""``GET /api/v1/outputs?model=&digest=``: the outputs one model version made (issue 14)."""

from __future__ import annotations

import pytest

from tests.registry.hub.conftest import generate, png, push_version
from tests.support.registry_helpers import bearer


@pytest.fixture
def model(hub_oci, keys, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return push_version(hub_oci, signer=keys.release, root=tmp_path)


def test_outputs_of_a_version_in_log_order_with_pages(hub, keys, model, make_token):
    pusher = bearer(make_token(scopes="pull,push").secret)
    digests = []
    for seed in (1, 2):
        gen = generate(keys, model, image=png(seed))
        assert hub.post("/api/v1/outputs", files=gen.files(), headers=pusher).status_code == 201
        digests.append(gen.digest)
    repository, _, version_digest = model.partition("@")
    query = {"model": repository, "digest": version_digest}

    listed = hub.get("/api/v1/outputs", params=query, headers=pusher)
    assert listed.status_code == 200, listed.text
    outputs = listed.json()["outputs"]
    assert [o["image_digest"] for o in outputs] == digests
    assert outputs[0]["creator"] == "alice@acme.example"
    assert outputs[0]["license"] == "CC-BY-NC-4.0"
    assert outputs[0]["terms"] == ["attribution", "non-commercial"]
    assert listed.json()["next_after"] is None

    first = hub.get("/api/v1/outputs", params=query | {"limit": 1}, headers=pusher).json()
    assert [o["image_digest"] for o in first["outputs"]] == digests[:1]
    rest = hub.get(
        "/api/v1/outputs", params=query | {"after": first["next_after"]}, headers=pusher
    ).json()
    assert [o["image_digest"] for o in rest["outputs"]] == digests[1:]

    other_version = hub.get(
        "/api/v1/outputs", params=query | {"digest": "sha256:" + "0" * 64}, headers=pusher
    )
    assert other_version.status_code == 200 and other_version.json()["outputs"] == []


def test_outputs_listing_needs_pull_and_good_input(hub, model, make_token):
    repository, _, version_digest = model.partition("@")
    query = {"model": repository, "digest": version_digest}
    assert hub.get("/api/v1/outputs", params=query).status_code == 401
    stranger = bearer(make_token(namespace="other", scopes="pull").secret)
    assert hub.get("/api/v1/outputs", params=query, headers=stranger).status_code == 403
    reader = bearer(make_token(scopes="pull").secret)
    for bad in ({"model": "Acme/sd"}, {"digest": "sha256:nothex"}, {"model": "sd"}):
        answer = hub.get("/api/v1/outputs", params=query | bad, headers=reader)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    missing = hub.get("/api/v1/outputs", params={"model": repository}, headers=reader)
    assert missing.status_code == 400
