"""C2PA registrations and reprints of credentialed derivatives, end to end on both engines."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from pathlib import Path

import c2pa
import pytest
from cryptography.hazmat.primitives import serialization
from litestar.testing import TestClient

from registry import create_app
from registry.settings import Settings
from signing.provenance.c2pa_sign import TRAINED_ALGORITHMIC_MEDIA, sign_c2pa
from tests.registry.hub.conftest import (
    MAX_IMAGE_BYTES,
    generate,
    png,
    push_version,
    write_reprint_policy,
)
from tests.support.c2pa_pki import C2paPki, make_c2pa_pki, png_chunk, png_chunks, png_from
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, sha256_digest

PNG = "image/png"


@pytest.fixture(scope="module")
def pki() -> C2paPki:
    return make_c2pa_pki("es256")


@pytest.fixture
def c2pa_hub(hub_settings: Settings, pki: C2paPki, tmp_path: Path):  # type: ignore[no-untyped-def]
    anchors = tmp_path / "c2pa-anchors.pem"
    anchors.write_bytes(pki.anchors_pem)
    settings = replace(hub_settings, hub=replace(hub_settings.hub, c2pa_trust_anchors=anchors))
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def pusher(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token(scopes="pull,push").secret)


@pytest.fixture
def model(c2pa_hub, make_token, keys, tmp_path) -> str:  # type: ignore[no-untyped-def]
    oci = Oci(c2pa_hub, bearer(make_token(scopes="admin").secret), name="acme/sd")
    return push_version(oci, signer=keys.release, root=tmp_path)


def _register(hub, headers, image: bytes, latents: list[bytes] | None):  # type: ignore[no-untyped-def]
    files = {"image": ("image.png", image, PNG)}
    if latents is not None:
        chain = json.dumps([json.loads(e) for e in latents]).encode()
        files["latents"] = ("latents.json", chain, "application/json")
    return hub.post("/api/v1/outputs", files=files, headers=headers)


def _reprint(hub, headers, image: bytes, **request: object):  # type: ignore[no-untyped-def]
    body = json.dumps({"reprinter": "daily-planet", **request}).encode()
    return hub.post(
        "/api/v1/reprints",
        files={"request": ("r.json", body, "application/json"), "image": ("i.png", image, PNG)},
        headers=headers,
    )


def _credentialed(pki, keys, model, *, seed=0, terms=("attribution",)):  # type: ignore[no-untyped-def]
    gen = generate(keys, model, image=png(seed=seed, size=32), terms=terms)
    signed = sign_c2pa(
        gen.image, PNG, pki.signer(), model_reference=model, output_manifest=gen.manifest
    )
    return signed, gen


def test_register_a_credentialed_image_then_reprint_a_derivative(
    c2pa_hub, pki, keys, model, pusher
):
    parent, gen = _credentialed(pki, keys, model)
    registered = _register(c2pa_hub, pusher, parent, gen.latents)
    assert registered.status_code == 201, registered.text
    assert registered.json()["kind"] == "c2pa"
    assert registered.json()["image_digest"] == sha256_digest(parent)

    child = sign_c2pa(
        png(seed=9, size=32), PNG, pki.signer(), model_reference=model, parents=[(parent, PNG)]
    )
    granted = _reprint(c2pa_hub, pusher, child)
    assert granted.status_code == 201, granted.text
    body = granted.json()
    assert body["via"] == "c2pa" and body["original"] == sha256_digest(parent)
    assert body["image_digest"] == sha256_digest(child)
    view = c2pa_hub.get(f"/api/v1/outputs/{sha256_digest(parent)}").json()
    assert view["reprints"][0]["via"] == "c2pa"
    assert view["chain"]["c2paSigner"] == "Custody C2PA Signer"


def test_a_derivative_is_judged_as_a_derivative_work(c2pa_hub, pki, keys, model, pusher):
    parent, gen = _credentialed(pki, keys, model, terms=("attribution", "no-derivatives"))
    assert _register(c2pa_hub, pusher, parent, gen.latents).status_code == 201
    child = sign_c2pa(
        png(seed=8, size=32), PNG, pki.signer(), model_reference=model, parents=[(parent, PNG)]
    )
    refused = _reprint(c2pa_hub, pusher, child, derivative=False)
    assert refused.status_code == 403, refused.text
    assert refused.json()["term"] == "no-derivatives"
    exact = _reprint(c2pa_hub, pusher, parent)  # the original itself is no derivative
    assert exact.status_code == 201, exact.text


def test_a_derivative_of_a_tampered_parent_is_refused(c2pa_hub, pki, keys, model, pusher):
    parent, gen = _credentialed(pki, keys, model)
    assert _register(c2pa_hub, pusher, parent, gen.latents).status_code == 201
    chunks = png_chunks(parent)
    extra = (b"tEXt", png_chunk(b"tEXt", b"Comment\x00tampered"))
    tampered = png_from([*chunks[:-1], extra, chunks[-1]])
    child = sign_c2pa(
        png(seed=7, size=32), PNG, pki.signer(), model_reference=model, parents=[(tampered, PNG)]
    )
    response = _reprint(c2pa_hub, pusher, child)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "c2pa-ingredient-invalid"


def test_a_manifest_that_asks_for_a_remote_fetch_is_refused(c2pa_hub, pki, keys, pusher):
    signer = pki.signer()
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in signer.chain)
    created = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    definition = {
        "claim_generator_info": [{"name": "elsewhere"}],
        "title": "remote",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [created]}}],
    }
    out = io.BytesIO()
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(definition, context=context) as builder:
        builder.set_no_embed()
        builder.set_remote_url("http://127.0.0.1:9/manifest.c2pa")
        alg = c2pa.C2paSigningAlg.ES256
        with c2pa.Signer.from_callback(signer.sign, alg, chain.decode(), None) as c2pa_signer:
            builder.sign(c2pa_signer, PNG, io.BytesIO(png(seed=3, size=32)), out)
    gen = generate(keys, "acme/sd@sha256:" + "ab" * 32)
    response = _register(c2pa_hub, pusher, out.getvalue(), gen.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "c2pa-remote-manifest"


def test_credentials_without_an_output_manifest_or_a_trusted_signer_are_refused(
    c2pa_hub, pki, keys, model, pusher
):
    gen = generate(keys, model, image=png(seed=4, size=32))
    bare = sign_c2pa(gen.image, PNG, pki.signer(), model_reference=model)
    response = _register(c2pa_hub, pusher, bare, gen.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "c2pa-output-manifest-missing"
    stranger = make_c2pa_pki("es256")
    foreign = sign_c2pa(
        gen.image, PNG, stranger.signer(), model_reference=model, output_manifest=gen.manifest
    )
    response = _register(c2pa_hub, pusher, foreign, gen.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "c2pa-untrusted-signer"


def test_without_trust_anchors_c2pa_registration_is_off(hub, keys, pusher):
    gen = generate(keys, "acme/sd@sha256:" + "ab" * 32)
    response = _register(hub, pusher, gen.image, gen.latents)
    assert response.status_code == 503, response.text
    assert response.json()["check"] == "configuration"


def test_a_derivative_leads_to_an_output_registered_by_its_manifest(
    c2pa_hub, pki, keys, model, pusher
):
    """Registered as plain bytes + manifest; credentials added later; a derivative of that."""
    credentialed, gen = _credentialed(pki, keys, model, seed=21)
    plain = c2pa_hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert plain.status_code == 201, plain.text
    child = sign_c2pa(
        png(seed=22, size=32), PNG, pki.signer(), model_reference=model,
        parents=[(credentialed, PNG)],
    )  # fmt: skip
    granted = _reprint(c2pa_hub, pusher, child)
    assert granted.status_code == 201, granted.text
    assert granted.json()["original"] == gen.digest and granted.json()["via"] == "c2pa"


def test_chain_failures_come_after_the_credentials_and_the_manifest(
    c2pa_hub, pki, keys, model, pusher
):
    """The chain's signatures are checked while c2pa validates; the order of refusals stays."""
    gen = generate(keys, model, image=png(seed=30, size=32), node=keys.stranger)
    foreign = sign_c2pa(
        gen.image, PNG, make_c2pa_pki("es256").signer(), model_reference=model,
        output_manifest=gen.manifest,
    )  # fmt: skip
    response = _register(c2pa_hub, pusher, foreign, gen.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "c2pa-untrusted-signer"
    forged = generate(keys, model, image=png(seed=31, size=32), node=keys.stranger,
                      creator=keys.stranger)  # fmt: skip
    signed = sign_c2pa(
        forged.image, PNG, pki.signer(), model_reference=model, output_manifest=forged.manifest
    )
    response = _register(c2pa_hub, pusher, signed, forged.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "untrusted-creator"
    signed = sign_c2pa(gen.image, PNG, pki.signer(), model_reference=model,
                       output_manifest=gen.manifest)  # fmt: skip
    response = _register(c2pa_hub, pusher, signed, gen.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "untrusted-node"


def test_a_chain_claiming_another_namespace_is_checked_under_the_credentials_one(
    c2pa_hub, pki, keys, model, pusher
):
    credentialed, gen = _credentialed(pki, keys, model, seed=32)
    elsewhere = generate(keys, "zeta/sd@sha256:" + "cd" * 32, image=png(seed=33, size=32))
    response = _register(c2pa_hub, pusher, credentialed, elsewhere.latents)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "final-latent-mismatch"
    assert _register(c2pa_hub, pusher, credentialed, gen.latents).status_code == 201


@pytest.fixture
def creator_word_hub(c2pa_hub, hub_settings, pki, keys, tmp_path):  # type: ignore[no-untyped-def]
    """A hub whose acme rule sets c2pa_without_latents (same database as ``c2pa_hub``)."""
    anchors = tmp_path / "c2pa-anchors.pem"
    (tmp_path / "open").mkdir()
    policy = write_reprint_policy(tmp_path / "open", keys, c2pa_without_latents=True)
    settings = replace(
        hub_settings,
        hub=replace(hub_settings.hub, c2pa_trust_anchors=anchors, reprint_policy=policy),
    )
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def test_credentials_without_a_latent_chain_need_the_namespace_to_allow_it(
    c2pa_hub, pki, keys, model, pusher
):
    credentialed, _ = _credentialed(pki, keys, model, seed=40)
    response = _register(c2pa_hub, pusher, credentialed, None)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "latent-chain-required"
    assert c2pa_hub.get(f"/api/v1/outputs/{sha256_digest(credentialed)}").status_code == 404


def test_where_allowed_credentials_register_on_the_creators_word(
    creator_word_hub, pki, keys, model, pusher
):
    credentialed, gen = _credentialed(pki, keys, model, seed=41)
    response = _register(creator_word_hub, pusher, credentialed, None)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "c2pa" and body["model"] == model
    assert body["receipt"]["logIndex"] == body["log_index"]
    view = creator_word_hub.get(f"/api/v1/outputs/{sha256_digest(credentialed)}").json()
    assert view["chain"]["records"] == 0 and view["chain"]["attestedBy"] == "creator"
    assert view["chain"]["renderedImage"] == gen.digest
    assert view["model"]["signature_verified"] is True
    granted = _reprint(creator_word_hub, pusher, credentialed)
    assert granted.status_code == 201, granted.text
    statement = json.loads(base64.b64decode(granted.json()["statement"]["payload"]))
    assert statement["predicate"]["model"]["attestedBy"] == "creator"
    # Sending the chain as well still works, and still checks it.
    other, other_gen = _credentialed(pki, keys, model, seed=42)
    broken = other_gen.latents[1:]
    response = _register(creator_word_hub, pusher, other, broken)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "missing-latent-root"


def test_on_the_creators_word_the_model_and_creator_are_still_checked(
    creator_word_hub, pki, keys, model, pusher
):
    unknown = "acme/sd@sha256:" + "ee" * 32
    credentialed, _ = _credentialed(pki, keys, unknown, seed=43)
    response = _register(creator_word_hub, pusher, credentialed, None)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "model"
    forged = generate(keys, model, image=png(seed=44, size=32), creator=keys.stranger)
    signed = sign_c2pa(
        forged.image, PNG, pki.signer(), model_reference=model, output_manifest=forged.manifest
    )
    response = _register(creator_word_hub, pusher, signed, None)
    assert response.status_code == 422, response.text
    assert response.json()["check"] == "untrusted-creator"


def _register_raw(hub, headers, image: bytes, media_type: str = PNG, **extra):  # type: ignore[no-untyped-def]
    return hub.post(
        "/api/v1/outputs", content=image, headers={**headers, "content-type": media_type, **extra}
    )


def test_a_credentialed_image_can_be_the_whole_body(creator_word_hub, pki, keys, model, pusher):
    credentialed, gen = _credentialed(pki, keys, model, seed=50)
    response = _register_raw(creator_word_hub, pusher, credentialed)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["image_digest"] == sha256_digest(credentialed) and body["kind"] == "c2pa"
    view = creator_word_hub.get(f"/api/v1/outputs/{sha256_digest(credentialed)}").json()
    assert view["chain"]["renderedImage"] == gen.digest
    # Sent again, as multipart this time: the same claim, so the same registration (200).
    again = _register(creator_word_hub, pusher, credentialed, None)
    assert again.status_code == 200, again.text
    assert again.json()["log_index"] == body["log_index"]
    jpeg_gen = generate(keys, model, image=_jpeg(seed=51))
    jpeg = sign_c2pa(jpeg_gen.image, "image/jpeg", pki.signer(), model_reference=model,
                     output_manifest=jpeg_gen.manifest)  # fmt: skip
    assert _register_raw(creator_word_hub, pusher, jpeg, "image/jpeg").status_code == 201


def test_a_raw_body_is_checked_like_a_part(creator_word_hub, c2pa_hub, pki, keys, model, pusher):
    credentialed, _ = _credentialed(pki, keys, model, seed=52)
    # The namespace must allow registration without the chain.
    refused = _register_raw(c2pa_hub, pusher, credentialed)
    assert refused.status_code == 422 and refused.json()["check"] == "latent-chain-required"
    # A pixel changed after signing.
    manifest_chunk = next(c for c in png_chunks(credentialed) if c[0] == b"caBX")
    repainted = png_chunks(png(seed=99, size=32))
    tampered = png_from([repainted[0], manifest_chunk, *repainted[1:]])
    response = _register_raw(creator_word_hub, pusher, tampered)
    assert response.status_code == 422, response.text
    assert "assertion.dataHash.mismatch" in response.text
    # A signer not on the trust list.
    gen = generate(keys, model, image=png(seed=53, size=32))
    foreign = sign_c2pa(gen.image, PNG, make_c2pa_pki("es256").signer(), model_reference=model,
                        output_manifest=gen.manifest)  # fmt: skip
    response = _register_raw(creator_word_hub, pusher, foreign)
    assert response.status_code == 422 and response.json()["check"] == "c2pa-untrusted-signer"
    # Not the type it says.
    response = _register_raw(creator_word_hub, pusher, credentialed, "image/jpeg")
    assert response.status_code == 400 and response.json()["reason"] == "c2pa-input-invalid"
    # Anonymous callers are refused before anything is read.
    assert _register_raw(creator_word_hub, {}, credentialed).status_code == 401
    assert creator_word_hub.get(f"/api/v1/outputs/{sha256_digest(tampered)}").status_code == 404


def test_a_raw_body_is_bounded_and_may_be_chunked(creator_word_hub, pki, keys, model, pusher):
    credentialed, _ = _credentialed(pki, keys, model, seed=54)

    def chunked(data: bytes, step: int = 1000):  # no Content-Length: httpx sends it chunked
        for start in range(0, len(data), step):
            yield data[start : start + step]

    headers = {**pusher, "content-type": PNG}
    response = creator_word_hub.post(
        "/api/v1/outputs", content=chunked(credentialed), headers=headers
    )
    assert response.status_code == 201, response.text
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_IMAGE_BYTES + 1)
    response = _register_raw(creator_word_hub, pusher, huge)
    assert response.status_code == 413 and response.json()["check"] == "size"
    response = creator_word_hub.post("/api/v1/outputs", content=chunked(huge), headers=headers)
    assert response.status_code == 413 and response.json()["check"] == "size"
    assert response.headers["content-type"].startswith("application/problem+json")
    response = _register_raw(creator_word_hub, pusher, b"")
    assert response.status_code == 400


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), (seed, 90, 200)).save(out, format="JPEG")
    return out.getvalue()
