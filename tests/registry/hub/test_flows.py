"""Register, re-register, attribute and reprint, end to end through the API on both engines."""

from __future__ import annotations

import json

import pytest

from registry.hub.attestation import ATTRIBUTION_TYPE
from signing.dsse import Envelope
from signing.keys import load_public_key, verify_bytes
from tests.registry.hub.conftest import generate, png, push_version
from tests.support.registry_helpers import bearer
from verifier.transparency import VerifierKey, verify_receipt


@pytest.fixture
def pusher(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token(scopes="pull,push").secret)


@pytest.fixture
def model(hub_oci, keys, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return push_version(hub_oci, signer=keys.release, root=tmp_path)


def _reprint(hub, headers, image: bytes, **request: object):  # type: ignore[no-untyped-def]
    body = json.dumps({"reprinter": "daily-planet", **request}).encode()
    return hub.post(
        "/api/v1/reprints",
        files={
            "request": ("request.json", body, "application/json"),
            "image": ("image.png", image, "image/png"),
        },
        headers=headers,
    )


def _log_key(hub) -> VerifierKey:  # type: ignore[no-untyped-def]
    return VerifierKey.parse(hub.get("/api/v1/log/key").text.strip())


def test_register_then_attribute(hub, keys, model, pusher):
    gen = generate(keys, model, steps=4)
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert response.status_code == 201, response.text
    registration = response.json()
    assert registration["image_digest"] == gen.digest
    assert registration["creator"] == "alice@acme.example"
    assert registration["model"] == model
    assert registration["image_checked"] is True
    entry = registration["entry"].encode()
    verified = verify_receipt(registration["receipt"], _log_key(hub), entry=entry)
    assert verified.log_index == registration["log_index"]
    logged = json.loads(entry)
    assert logged["image"] == gen.digest and logged["model"] == model

    view = hub.get(f"/api/v1/outputs/{gen.digest}")  # anonymous read
    assert view.status_code == 200, view.text
    attribution = view.json()
    assert attribution["model"]["signature_verified"] is True
    assert attribution["model"]["version"] == "1.0.0"
    assert attribution["model"]["signers"]
    assert attribution["license"] == "CC-BY-NC-4.0"
    assert attribution["terms"] == ["attribution", "non-commercial"]
    assert attribution["log_index"] == registration["log_index"]
    assert attribution["chain"]["records"] == 4
    assert attribution["chain"]["nodes"] == ["edge-01"]
    # Privacy: no prompt hash, seed or image byte in what is stored, logged or shown.
    shown = json.dumps(attribution) + registration["entry"]
    assert "hmac-sha256" not in shown and "prompt" not in shown.lower()
    assert "seed" not in json.dumps(attribution["chain"])


def test_registration_is_idempotent_and_a_rival_claim_conflicts(hub, keys, model, pusher):
    gen = generate(keys, model)
    first = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert first.status_code == 201, first.text
    again = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert again.status_code == 200, again.text
    assert again.json()["log_index"] == first.json()["log_index"]
    rival = generate(keys, model, image=gen.image, terms=("reprint-allowed",))
    conflict = hub.post("/api/v1/outputs", files=rival.files(), headers=pusher)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["check"] == "duplicate"
    assert conflict.json()["logIndex"] == first.json()["log_index"]


def test_registration_by_digest_alone(hub, keys, model, pusher):
    gen = generate(keys, model)
    response = hub.post("/api/v1/outputs", files=gen.files(with_image=False), headers=pusher)
    assert response.status_code == 201, response.text
    assert response.json()["image_checked"] is False


def test_a_model_without_a_trusted_signature_is_refused(hub, keys, hub_oci, tmp_path, pusher):
    unsigned = push_version(hub_oci, "2.0.0")
    signed_by_stranger = push_version(hub_oci, "3.0.0", signer=keys.stranger, root=tmp_path)
    for model in (unsigned, signed_by_stranger):
        gen = generate(keys, model, image=png(seed=len(model)))
        response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
        assert response.status_code == 422, response.text
        assert response.json()["check"] == "model-signature"


def test_reprint_allowed_returns_a_signed_attribution_statement(hub, keys, model, pusher):
    gen = generate(keys, model)
    registered = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher).json()
    response = _reprint(hub, pusher, gen.image, commercial=False, attribution=True)
    assert response.status_code == 201, response.text
    granted = response.json()
    assert granted["original"] == gen.digest and granted["via"] == "exact"
    verify_receipt(granted["receipt"], _log_key(hub), entry=granted["entry"].encode())
    verify_receipt(granted["registration_receipt"], _log_key(hub))

    hub_key = hub.get("/api/v1/hub/key").json()
    envelope = Envelope.from_json(granted["statement"])
    key = load_public_key(hub_key["public_key_pem"].encode())
    assert verify_bytes(key, envelope.signatures[0].sig, envelope.pae())
    statement = json.loads(envelope.payload)
    assert statement["predicateType"] == ATTRIBUTION_TYPE
    predicate = statement["predicate"]
    assert predicate["creator"] == "alice@acme.example"
    assert predicate["model"] == {
        "reference": model,
        "signatureVerified": True,
        "attestedBy": "nodes",
    }
    assert predicate["license"] == "CC-BY-NC-4.0"
    assert predicate["original"]["logIndex"] == registered["log_index"]
    assert predicate["reprint"]["logIndex"] == granted["log_index"]

    view = hub.get(f"/api/v1/outputs/{gen.digest}").json()
    assert [r["reprinter"] for r in view["reprints"]] == ["daily-planet"]
    repeat = _reprint(hub, pusher, gen.image, commercial=False, attribution=True)
    assert repeat.json()["log_index"] == granted["log_index"]


@pytest.mark.parametrize(
    ("terms", "request_", "term"),
    [
        (("attribution", "non-commercial"), {"commercial": True}, "non-commercial"),
        (("attribution", "non-commercial"), {"attribution": False}, "attribution"),
        (("no-reprint",), {}, "no-reprint"),
    ],
)
def test_reprint_forbidden_by_its_terms_names_the_term(
    hub, keys, model, pusher, terms, request_, term
):
    gen = generate(keys, model, terms=terms)
    assert hub.post("/api/v1/outputs", files=gen.files(), headers=pusher).status_code == 201
    response = _reprint(hub, pusher, gen.image, **request_)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["check"] == "terms" and problem["term"] == term
    assert hub.get(f"/api/v1/outputs/{gen.digest}").json()["reprints"] == []


def test_a_second_submission_of_an_image_logs_nothing(hub, keys, model, pusher):
    """The duplicate check runs in the log's batch transaction (where two racing first
    submissions meet: tests/registry/tlog/test_rows.py): the same claim again is answered with the
    first registration, a rival claim with 409; neither adds a log entry."""
    gen = generate(keys, model)
    first = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert first.status_code == 201, first.text
    size = int(hub.get("/api/v1/log/checkpoint").text.splitlines()[1])  # a C2SP note
    again = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert again.status_code == 200, again.text
    assert again.json()["log_index"] == first.json()["log_index"]
    assert again.json()["receipt"]["logIndex"] == first.json()["log_index"]
    rival = generate(keys, model, image=gen.image, terms=("reprint-allowed",))
    conflict = hub.post("/api/v1/outputs", files=rival.files(), headers=pusher)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["logIndex"] == first.json()["log_index"]
    assert int(hub.get("/api/v1/log/checkpoint").text.splitlines()[1]) == size
    view = hub.get(f"/api/v1/outputs/{gen.digest}").json()
    assert view["log_index"] == first.json()["log_index"]
    assert view["terms"] == ["attribution", "non-commercial"]
