"""The provenance formats: canonical latent digests, prompt hashes, statements and schemas."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from signing.keys import generate_private_key, key_id
from signing.provenance import (
    LATENT_RECORD_TYPE,
    OUTPUT_MANIFEST_TYPE,
    LatentStatement,
    OutputStatement,
    ProvenanceFormatError,
    canonical_latent_digest,
    decode_statement,
    image_digest,
    parse_envelope,
    prompt_hash,
    record_digest,
    sign_output_manifest,
    statement_schema,
)
from signing.signers import KeySigner
from tests.support.provenance_factories import IMAGE, MODEL, SALT, record, scenario
from verifier.provenance.reprint_policy import schema as reprint_schema

REPO = Path(__file__).resolve().parents[3]


def test_latent_digest_covers_a_fixed_header_then_the_bytes() -> None:
    data = bytes(range(16))
    header = b"custody-latent/v1\ndtype=float32\nshape=2,2\nlayout=C\n\n"
    expected = "sha256:" + hashlib.sha256(header + data).hexdigest()
    assert canonical_latent_digest(data, "float32", (2, 2)) == expected
    # Same bytes read as another dtype or shape are another latent.
    assert canonical_latent_digest(data, "int32", (2, 2)) != expected
    assert canonical_latent_digest(data, "float32", (4, 1)) != expected
    assert canonical_latent_digest(data, "float16", (2, 4)) != expected
    # Any buffer works without copying, a memoryview of another format too.
    assert canonical_latent_digest(memoryview(data).cast("I"), "float32", (2, 2)) == expected


@pytest.mark.parametrize(
    ("size", "dtype", "shape", "message"),
    [
        (16, "float32", (2, 3), "needs 24"),
        (16, "complex64", (2,), "dtype"),
        (16, "float32", (), "shape"),
        (16, "float32", (-4, -1), "shape"),
    ],
)
def test_latent_digest_refuses_bytes_that_do_not_fit(
    size: int, dtype: str, shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ProvenanceFormatError, match=message):
        canonical_latent_digest(bytes(size), dtype, shape)


def test_prompt_hash_is_keyed_and_never_the_prompt() -> None:
    first = prompt_hash("a red fox", SALT)
    assert first.startswith("hmac-sha256:")
    assert "fox" not in first
    assert prompt_hash("a red fox", b"t" * 32) != first
    with pytest.raises(ProvenanceFormatError, match="salt"):
        prompt_hash("a red fox", b"short")


def test_a_latent_record_is_a_dsse_signed_in_toto_statement() -> None:
    case = scenario(steps=(0, 1))
    envelope = json.loads(case.chain[1])
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"][0]["keyid"] == key_id(case.node.public_key)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == LATENT_RECORD_TYPE
    assert statement["subject"][0]["name"] == "latent"
    predicate = statement["predicate"]
    assert predicate["parent"] == record_digest(case.chain[0])
    assert predicate["model"] == {"reference": MODEL, "manifestDigest": MODEL.split("@")[1]}
    assert predicate["promptHash"] == prompt_hash("a red fox", SALT)
    assert predicate["node"]["keyId"] == key_id(case.node.public_key)
    assert predicate["latent"] == {"dtype": "float32", "shape": [1, 4, 2, 2], "layout": "C"}
    assert "a red fox" not in case.chain[1].decode()


def test_record_digest_is_over_the_signed_payload() -> None:
    case = scenario(steps=(0,))
    payload = parse_envelope(case.chain[0]).payload
    assert record_digest(case.chain[0]) == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert case.recorder.head == record_digest(case.chain[0])


def test_an_output_manifest_names_image_model_chain_creator_and_terms() -> None:
    case = scenario()
    payload = parse_envelope(case.manifest).payload
    statement = decode_statement(payload, OutputStatement)
    assert statement.predicate_type == OUTPUT_MANIFEST_TYPE
    assert statement.image_digest == image_digest(IMAGE)
    assert statement.predicate.final_latent == case.recorder.head
    assert statement.predicate.terms == ["attribution", "non-commercial"]
    assert statement.predicate.created.tzinfo is not None


def test_output_manifest_keeps_ingredients_and_creation_time() -> None:
    signer = KeySigner(generate_private_key("ecdsa-p256"))
    parent = image_digest(b"parent image")
    when = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    envelope = sign_output_manifest(
        signer,
        image_digest=image_digest(IMAGE),
        model_reference=MODEL,
        final_latent=image_digest(b"x"),
        creator_id="alice",
        license="CC-BY-4.0 AND MIT",
        terms=["attribution"],
        ingredients=[parent],
        created=when,
    )
    statement = json.loads(parse_envelope(envelope).payload)
    assert statement["predicate"]["ingredients"] == [{"digest": parent, "relationship": "parentOf"}]
    assert statement["predicate"]["created"] == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_reference": "acme/sd-turbo:latest"}, "model reference"),
        ({"license": "not a licence; rm -rf"}, "license"),
        ({"terms": ["attribution", "attribution"]}, "repeat"),
        ({"terms": ["Has Spaces"]}, "terms"),
        ({"image_digest": "md5:abc"}, "digest"),
        ({"final_latent": "sha256:short"}, "finalLatent"),
        ({"created": datetime(2026, 1, 1)}, "time zone"),
    ],
)
def test_signing_refuses_what_a_verifier_would_refuse(
    change: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "image_digest": image_digest(IMAGE),
        "model_reference": MODEL,
        "final_latent": image_digest(b"x"),
        "creator_id": "alice",
        "license": "CC-BY-4.0",
        "terms": ["attribution"],
        **change,
    }
    signer = KeySigner(generate_private_key("ed25519"))
    with pytest.raises(ProvenanceFormatError, match=message):
        sign_output_manifest(signer, **arguments)  # type: ignore[arg-type]


def test_latent_record_refuses_a_negative_step() -> None:
    node = KeySigner(generate_private_key("ed25519"))
    with pytest.raises(ProvenanceFormatError, match="step"):
        record(node, -1, None)


def test_decoding_refuses_unknown_fields_and_wrong_types() -> None:
    case = scenario(steps=(0,))
    statement = json.loads(parse_envelope(case.chain[0]).payload)
    statement["predicate"]["prompt"] = "a red fox"
    with pytest.raises(ProvenanceFormatError, match="unknown field"):
        decode_statement(json.dumps(statement).encode(), LatentStatement)
    statement = json.loads(parse_envelope(case.chain[0]).payload)
    with pytest.raises(ProvenanceFormatError, match="output manifest"):
        decode_statement(json.dumps(statement).encode(), OutputStatement)


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"payload": "", "payloadType": "x", "signatures": []}', b"{" * 300_000],
)
def test_malformed_envelopes_are_format_errors(data: bytes) -> None:
    with pytest.raises(ProvenanceFormatError):
        parse_envelope(data)


@pytest.mark.parametrize(
    ("file", "generated"),
    [
        ("latent-record.v1.schema.json", lambda: statement_schema(LatentStatement)),
        ("output-manifest.v1.schema.json", lambda: statement_schema(OutputStatement)),
        ("reprint-policy.v1.schema.json", reprint_schema),
    ],
)
def test_published_schemas_are_generated_from_the_models(file: str, generated: object) -> None:
    published = json.loads((REPO / "policies" / file).read_text())
    assert callable(generated)
    assert published == generated(), f"regenerate policies/{file}"


def test_signed_statements_validate_against_the_published_schemas() -> None:
    case = scenario(steps=(0, 1))
    for envelope, file in (
        (case.chain[1], "latent-record.v1.schema.json"),
        (case.manifest, "output-manifest.v1.schema.json"),
    ):
        schema = json.loads((REPO / "policies" / file).read_text())
        validator = jsonschema_rs.Draft202012Validator(schema)
        statement = json.loads(parse_envelope(envelope).payload)
        assert validator.is_valid(statement), file
        statement["predicate"]["prompt"] = "leaked"
        assert not validator.is_valid(statement), file


def test_the_example_reprint_policy_validates_against_its_schema() -> None:
    schema = json.loads((REPO / "policies" / "reprint-policy.v1.schema.json").read_text())
    document = yaml.safe_load((REPO / "policies" / "reprint-policy.example.yaml").read_text())
    assert jsonschema_rs.Draft202012Validator(schema).is_valid(document)


def test_the_numpy_recipe_gives_the_canonical_digest() -> None:
    np = pytest.importorskip("numpy")
    latent = np.arange(2 * 4 * 3, dtype=">f4").reshape(2, 4, 3)[:, ::2, :]  # big-endian, strided
    canonical = np.ascontiguousarray(latent, latent.dtype.newbyteorder("<"))
    expected = canonical_latent_digest(
        np.arange(2 * 4 * 3, dtype="<f4").reshape(2, 4, 3)[:, ::2, :].copy().tobytes(),
        "float32",
        (2, 2, 3),
    )
    assert canonical_latent_digest(canonical, canonical.dtype.name, canonical.shape) == expected
    with pytest.raises(ProvenanceFormatError, match="C-contiguous"):
        canonical_latent_digest(np.zeros((4, 4), "<f4")[:, ::2], "float32", (4, 2))


@pytest.mark.parametrize(
    "ingredients",
    [[image_digest(IMAGE)], [image_digest(b"p"), image_digest(b"p")]],
)
def test_ingredients_cannot_repeat_or_name_the_image_itself(ingredients: list[str]) -> None:
    signer = KeySigner(generate_private_key("ed25519"))
    with pytest.raises(ProvenanceFormatError, match="ingredients"):
        sign_output_manifest(
            signer,
            image_digest=image_digest(IMAGE),
            model_reference=MODEL,
            final_latent=image_digest(b"x"),
            creator_id="alice",
            license="MIT",
            terms=["reprint-allowed"],
            ingredients=ingredients,
        )
