"""Bad submissions, end to end through the API: each refused with a problem naming its check."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from registry import create_app
from tests.registry.hub.conftest import MAX_IMAGE_BYTES, generate, png, push_version
from tests.support.registry_helpers import bearer

UNKNOWN_MODEL = "acme/sd@sha256:" + "ab" * 32


def _problem(response, status: int, check: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["check"] == check, body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def pusher(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token(scopes="pull,push").secret)


def test_root_naming_an_unknown_model_version_is_refused(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL)
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    _problem(response, 422, "model")


def test_root_naming_an_unsigned_version_is_refused(hub, hub_oci, keys, pusher):
    gen = generate(keys, push_version(hub_oci))
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    body = _problem(response, 422, "model-signature")
    assert "acme/sd@sha256:" in body["detail"]


def test_untrusted_node_key_is_refused(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL, node=keys.stranger)
    _problem(hub.post("/api/v1/outputs", files=gen.files(), headers=pusher), 422, "untrusted-node")


def test_untrusted_creator_key_is_refused(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL, creator=keys.stranger)
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    _problem(response, 422, "untrusted-creator")


def test_manifest_for_other_image_bytes_is_refused(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL, manifest_image=png(seed=1))
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    _problem(response, 422, "image-digest-mismatch")


def test_broken_latent_chain_is_refused(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL, steps=4)
    del gen.latents[1]
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    _problem(response, 422, "broken-parent-link")


def test_image_over_the_limit_is_refused_before_it_is_read(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL, image=b"\x89PNG" + bytes(MAX_IMAGE_BYTES + 1))
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    _problem(response, 413, "size")


def test_image_over_the_limit_without_a_length_is_cut_off(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL, image=bytes(MAX_IMAGE_BYTES + 1))
    boundary = "hubtest"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()

    def chunks():  # type: ignore[no-untyped-def]
        yield head
        for start in range(0, len(gen.image), 65536):
            yield gen.image[start : start + 65536]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = hub.post(
        "/api/v1/outputs",
        content=chunks(),
        headers={**pusher, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    _problem(response, 413, "size")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda m: b"not json", id="not-json"),
        pytest.param(lambda m: json.dumps({"payload": "!!", "signatures": []}).encode(), id="b64"),
        pytest.param(
            lambda m: json.dumps({**json.loads(m), "payloadType": "text/plain"}).encode(),
            id="payload-type",
        ),
    ],
)
def test_malformed_envelope_is_refused(hub, keys, pusher, mutate):
    gen = generate(keys, UNKNOWN_MODEL)
    gen.manifest = mutate(gen.manifest)
    _problem(hub.post("/api/v1/outputs", files=gen.files(), headers=pusher), 400, "format")


def test_malformed_submissions_are_refused(hub, keys, pusher):
    gen = generate(keys, UNKNOWN_MODEL)
    as_json = hub.post("/api/v1/outputs", json={"manifest": "x"}, headers=pusher)
    _problem(as_json, 415, "format")
    files = gen.files()
    files["latents"] = ("latents.json", b'{"not": "a list"}', "application/json")
    _problem(hub.post("/api/v1/outputs", files=files, headers=pusher), 400, "format")
    files = gen.files()
    files["prompt"] = ("prompt.txt", b"a red fox", "text/plain")
    _problem(hub.post("/api/v1/outputs", files=files, headers=pusher), 400, "format")
    no_latents = {"manifest": gen.files()["manifest"]}
    _problem(hub.post("/api/v1/outputs", files=no_latents, headers=pusher), 400, "format")


def test_registration_needs_push_on_the_models_namespace(hub, keys, make_token):
    gen = generate(keys, UNKNOWN_MODEL)
    anonymous = hub.post("/api/v1/outputs", files=gen.files())
    assert anonymous.status_code == 401
    puller = bearer(make_token(scopes="pull").secret)
    assert hub.post("/api/v1/outputs", files=gen.files(), headers=puller).status_code == 403
    other = bearer(make_token(namespace="other", scopes="push").secret)
    assert hub.post("/api/v1/outputs", files=gen.files(), headers=other).status_code == 403


def test_reprint_of_an_image_never_registered_is_refused(hub, pusher):
    response = hub.post(
        "/api/v1/reprints",
        files={
            "request": ("r.json", b'{"reprinter": "daily-planet"}', "application/json"),
            "image": ("x.png", png(seed=5), "image/png"),
        },
        headers=pusher,
    )
    _problem(response, 404, "registration")


def test_reprint_request_must_be_well_formed(hub, pusher):
    response = hub.post(
        "/api/v1/reprints",
        files={
            "request": ("r.json", b'{"reprinter": "x", "free": true}', "application/json"),
            "image": ("x.png", png(seed=5), "image/png"),
        },
        headers=pusher,
    )
    _problem(response, 400, "format")
    assert hub.post("/api/v1/reprints", files={"image": ("x.png", b"x")}).status_code == 401


def test_attribution_of_an_unknown_image(hub):
    response = hub.get("/api/v1/outputs/sha256:" + "00" * 32)
    _problem(response, 404, "registration")
    assert hub.get("/api/v1/outputs/sha256:nothex").status_code == 400


def test_hub_without_a_policy_is_off(settings, keys):
    gen = generate(keys, UNKNOWN_MODEL)
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        response = client.post("/api/v1/outputs", files=gen.files())
        _problem(response, 503, "configuration")


def test_parameters_changing_along_the_chain_are_refused(hub, keys, pusher):
    from signing.provenance import record_digest, sign_latent_record, sign_output_manifest

    common = {
        "dtype": "float32",
        "shape": (1, 4, 2, 2),
        "model_reference": UNKNOWN_MODEL,
        "sampler": "euler",
        "scheduler": "karras",
        "guidance": 7.5,
        "prompt_hash": "hmac-sha256:" + "00" * 32,
        "node_id": "edge-01",
    }
    first = sign_latent_record(
        keys.node, latent_digest="sha256:" + "11" * 32, step=0, seed=42, parent=None, **common
    )
    second = sign_latent_record(
        keys.node,
        latent_digest="sha256:" + "22" * 32,
        step=1,
        seed=43,  # another seed half-way: not one generation
        parent=record_digest(first),
        **common,
    )
    gen = generate(keys, UNKNOWN_MODEL)
    gen.latents = [first, second]
    gen.manifest = sign_output_manifest(
        keys.creator,
        image_digest=gen.digest,
        model_reference=UNKNOWN_MODEL,
        final_latent=record_digest(second),
        creator_id="alice@acme.example",
        license="CC-BY-4.0",
        terms=["attribution"],
    )
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    _problem(response, 422, "latent-chain-inconsistent")


@pytest.mark.parametrize("what", ["policy", "anchors"])
def test_an_unreadable_policy_or_trust_list_stops_the_start(hub_settings, tmp_path, what):
    from dataclasses import replace

    from registry.errors import ConfigurationError
    from registry.hub import build_hub

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nterms: {}\nnamespaces: []\nsurprise: true\n")
    field = "reprint_policy" if what == "policy" else "c2pa_trust_anchors"
    settings = replace(hub_settings, hub=replace(hub_settings.hub, **{field: broken}))
    with pytest.raises(ConfigurationError, match="CUSTODY_"):
        build_hub(settings)  # what the app's lifespan runs before serving anything
