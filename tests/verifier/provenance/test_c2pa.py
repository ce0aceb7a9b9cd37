"""C2PA interop: images signed by c2pa-python validate; every tamper fails with its status."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import c2pa
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.provenance.c2pa_sign import (
    CUSTODY_ASSERTION_LABEL,
    TRAINED_ALGORITHMIC_MEDIA,
    sign_c2pa,
)
from signing.provenance.errors import ProvenanceFormatError
from signing.signers import CertificateSigner, KeySigner
from tests.support.c2pa_pki import (
    C2paPki,
    image,
    make_c2pa_pki,
    png_chunk,
    png_chunks,
    png_from,
    raw_signature,
    with_fixed_crcs,
)
from tests.support.provenance_factories import IMAGE, MODEL, OTHER_MODEL, scenario
from verifier.provenance import verify_output
from verifier.provenance.c2pa import verify_c2pa
from verifier.provenance.errors import (
    C2paAssertionInvalid,
    C2paIngredientInvalid,
    C2paInputInvalid,
    C2paManifestMissing,
    C2paRemoteManifest,
    C2paUntrustedSigner,
    C2paValidationFailed,
)

RED = image((200, 10, 10))
BLUE = image((10, 10, 200))
PNG = "image/png"


@pytest.fixture(scope="module", params=["es256", "ed25519"])
def pki(request: pytest.FixtureRequest) -> C2paPki:
    return make_c2pa_pki(request.param)


@pytest.fixture(scope="module")
def es256() -> C2paPki:
    return make_c2pa_pki("es256")


class RecordingSigner(CertificateSigner):
    """Keeps the last signature it made, so a test can find it in the file and corrupt it."""

    last: bytes = b""

    def sign(self, data: bytes) -> bytes:
        self.last = super().sign(data)
        return self.last


def third_party_sign(
    pki: C2paPki,
    asset: bytes,
    mime: str = PNG,
    *,
    assertions: list[dict[str, Any]] | None = None,
    remote_url: str | None = None,
    signer: CertificateSigner | None = None,
) -> bytes:
    """Sign with c2pa-python directly, as a tool that is not Custody would."""
    signer = signer or pki.signer()
    created = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    definition = {
        "claim_generator_info": [{"name": "third-party-tool", "version": "1.0"}],
        "title": "third party",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [created]}},
            *(assertions or []),
        ],
    }
    alg = (
        c2pa.C2paSigningAlg.ES256
        if isinstance(pki.leaf_key, ec.EllipticCurvePrivateKey)
        else c2pa.C2paSigningAlg.ED25519
    )
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in signer.chain)
    out = io.BytesIO()
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(definition, context=context) as builder:
        if remote_url:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        with c2pa.Signer.from_callback(signer.sign, alg, chain.decode(), None) as c2pa_signer:
            builder.sign(c2pa_signer, mime, io.BytesIO(asset), out)
    return out.getvalue()


def failure_of(caught: pytest.ExceptionInfo[C2paValidationFailed]) -> tuple[str, ...]:
    return caught.value.codes


# --- interop: what c2pa-python signs, we validate; what we sign, c2pa-python validates ---


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", PNG), ("JPEG", "image/jpeg")])
def test_images_signed_by_c2pa_python_validate(pki: C2paPki, fmt: str, mime: str) -> None:
    signed = third_party_sign(pki, image((10, 150, 10), fmt), mime)
    result = verify_c2pa(signed, mime, pki.anchors_pem)
    assert result.validation_state == "Trusted"
    assert "claimSignature.validated" in {s.code for s in result.status.success}
    assert "signingCredential.trusted" in {s.code for s in result.status.success}
    assert result.actions == ("c2pa.created",)
    assert result.digital_source_types == (TRAINED_ALGORITHMIC_MEDIA,)
    assert result.signer_common_name == "Custody C2PA Signer"
    assert result.custody is None
    assert result.failure_codes == ()


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", PNG), ("JPEG", "image/jpeg")])
def test_images_custody_signs_validate_with_c2pa_pythons_reader(
    pki: C2paPki, fmt: str, mime: str
) -> None:
    case = scenario(steps=(0, 1))
    rendered = image((90, 90, 90), fmt)
    signed = sign_c2pa(
        rendered, mime, pki.signer(), model_reference=MODEL, output_manifest=case.manifest
    )
    assert signed != rendered
    settings = {
        "verify": {"remote_manifest_fetch": False, "verify_trust": True},
        "trust": {"trust_anchors": pki.anchors_pem.decode()},
    }
    context = c2pa.Context.from_dict(settings)
    with c2pa.Reader(mime, io.BytesIO(signed), context=context) as reader:
        store = json.loads(reader.json())
    assert store["validation_state"] == "Trusted"
    manifest = store["manifests"][store["active_manifest"]]
    labels = {a["label"]: a["data"] for a in manifest["assertions"]}
    action = labels["c2pa.actions.v2"]["actions"][0]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert labels[CUSTODY_ASSERTION_LABEL]["modelReference"] == MODEL
    assert labels[CUSTODY_ASSERTION_LABEL]["modelManifestDigest"] == MODEL.split("@")[1]


def test_the_custody_assertion_carries_a_verifiable_output_manifest(es256: C2paPki) -> None:
    case = scenario(steps=(0, 1, 2))
    signed = sign_c2pa(
        image((1, 1, 1)), PNG, es256.signer(), model_reference=MODEL, output_manifest=case.manifest
    )
    result = verify_c2pa(signed, PNG, es256.anchors_pem)
    assert result.custody is not None
    assert result.custody.model_reference == MODEL
    assert result.custody.model_manifest_digest == MODEL.split("@")[1]
    assert result.custody.output_image_digest is not None
    assert result.custody.output_manifest is not None
    # The envelope went through CBOR and back; its payload (and signature) did not change.
    verified = verify_output(
        result.custody.output_manifest,
        result.custody.output_image_digest,
        case.chain,
        case.policy,
        "acme/studio",
    )
    assert verified.model_reference == MODEL
    assert verified.chain.steps == (0, 1, 2)


def test_a_derived_image_lists_its_parent_and_ancestry(es256: C2paPki) -> None:
    parent = sign_c2pa(RED, PNG, es256.signer(), model_reference=MODEL)
    child = sign_c2pa(BLUE, PNG, es256.signer(), model_reference=MODEL, parents=[(parent, PNG)])
    result = verify_c2pa(child, PNG, es256.anchors_pem)
    assert result.actions == ("c2pa.opened", "c2pa.edited")
    [ingredient] = result.ingredients
    assert ingredient.relationship == "parentOf"
    assert ingredient.ok
    parent_label = verify_c2pa(parent, PNG, es256.anchors_pem).active_manifest
    assert ingredient.manifest_label == parent_label
    assert [a.label for a in result.ancestors] == [parent_label]
    assert result.ancestors[0].custody is not None


# --- tamper cases, each with the status C2PA reports ---


def test_pixel_changed(es256: C2paPki) -> None:
    signed = third_party_sign(es256, RED)
    manifest_chunk = next(c for c in png_chunks(signed) if c[0] == b"caBX")
    repainted = png_chunks(image((200, 10, 11)))
    tampered = png_from([repainted[0], manifest_chunk, *repainted[1:]])
    with pytest.raises(C2paValidationFailed) as caught:
        verify_c2pa(tampered, PNG, es256.anchors_pem)
    assert "assertion.dataHash.mismatch" in failure_of(caught)
    assert caught.value.reason == "c2pa-invalid"


def test_assertion_edited(es256: C2paPki) -> None:
    custody = {"modelReference": MODEL, "modelManifestDigest": MODEL.split("@")[1]}
    signed = third_party_sign(
        es256, RED, assertions=[{"label": CUSTODY_ASSERTION_LABEL, "data": custody}]
    )
    assert verify_c2pa(signed, PNG, es256.anchors_pem).custody is not None
    at = signed.index(MODEL.split("@")[1].encode())
    edited = bytearray(signed)
    edited[at + 10] ^= 0x01
    with pytest.raises(C2paValidationFailed) as caught:
        verify_c2pa(with_fixed_crcs(bytes(edited)), PNG, es256.anchors_pem)
    assert "assertion.hashedURI.mismatch" in failure_of(caught)


def test_signature_corrupted(pki: C2paPki) -> None:
    signer = RecordingSigner(KeySigner(pki.leaf_key), [pki.leaf, pki.root])
    signed = third_party_sign(pki, RED, signer=signer)
    signature = raw_signature(signer.last, pki.leaf_key)
    at = signed.index(signature)
    corrupted = bytearray(signed)
    corrupted[at + 5] ^= 0x01
    with pytest.raises(C2paValidationFailed) as caught:
        verify_c2pa(with_fixed_crcs(bytes(corrupted)), PNG, pki.anchors_pem)
    assert "claimSignature.mismatch" in failure_of(caught)


def test_manifest_moved_onto_another_image(es256: C2paPki) -> None:
    signed = third_party_sign(es256, RED)
    manifest_chunk = next(c for c in png_chunks(signed) if c[0] == b"caBX")
    other = png_chunks(BLUE)
    with pytest.raises(C2paValidationFailed) as caught:
        verify_c2pa(png_from([other[0], manifest_chunk, *other[1:]]), PNG, es256.anchors_pem)
    assert "assertion.dataHash.mismatch" in failure_of(caught)


def test_chunk_added_after_signing(es256: C2paPki) -> None:
    chunks = png_chunks(third_party_sign(es256, RED))
    extra = (b"tEXt", png_chunk(b"tEXt", b"Comment\x00added later"))
    with pytest.raises(C2paValidationFailed) as caught:
        verify_c2pa(png_from([*chunks[:-1], extra, chunks[-1]]), PNG, es256.anchors_pem)
    assert "assertion.dataHash.mismatch" in failure_of(caught)


def test_jpeg_bytes_changed(es256: C2paPki) -> None:
    signed = bytearray(third_party_sign(es256, image((5, 5, 5), "JPEG"), "image/jpeg"))
    signed[-10] ^= 0x01  # inside the entropy-coded scan, before the EOI marker
    with pytest.raises(C2paValidationFailed) as caught:
        verify_c2pa(bytes(signed), "image/jpeg", es256.anchors_pem)
    assert "assertion.dataHash.mismatch" in failure_of(caught)


def test_signer_not_on_the_trust_list(es256: C2paPki) -> None:
    signed = third_party_sign(es256, RED)
    stranger = make_c2pa_pki()
    with pytest.raises(C2paUntrustedSigner) as caught:
        verify_c2pa(signed, PNG, stranger.anchors_pem)
    assert failure_of(caught) == ("signingCredential.untrusted",)
    assert caught.value.reason == "c2pa-untrusted-signer"


def test_a_derived_image_whose_ingredient_was_tampered_is_refused(es256: C2paPki) -> None:
    chunks = png_chunks(sign_c2pa(RED, PNG, es256.signer(), model_reference=MODEL))
    extra = (b"tEXt", png_chunk(b"tEXt", b"Comment\x00tampered parent"))
    tampered_parent = png_from([*chunks[:-1], extra, chunks[-1]])
    child = sign_c2pa(
        BLUE, PNG, es256.signer(), model_reference=MODEL, parents=[(tampered_parent, PNG)]
    )
    # c2pa-python alone calls the child valid: the failure is only in the ingredient.
    settings = {
        "verify": {"remote_manifest_fetch": False},
        "trust": {"trust_anchors": es256.anchors_pem.decode()},
    }
    context = c2pa.Context.from_dict(settings)
    with c2pa.Reader(PNG, io.BytesIO(child), context=context) as reader:
        assert reader.get_validation_state() == "Trusted"
    with pytest.raises(C2paIngredientInvalid) as caught:
        verify_c2pa(child, PNG, es256.anchors_pem)
    assert "assertion.dataHash.mismatch" in failure_of(caught)
    assert caught.value.reason == "c2pa-ingredient-invalid"


def test_an_ingredient_signed_by_an_untrusted_key_is_refused(es256: C2paPki) -> None:
    stranger = make_c2pa_pki()
    parent = sign_c2pa(RED, PNG, stranger.signer(), model_reference=MODEL)
    child = sign_c2pa(BLUE, PNG, es256.signer(), model_reference=MODEL, parents=[(parent, PNG)])
    with pytest.raises(C2paIngredientInvalid) as caught:
        verify_c2pa(child, PNG, es256.anchors_pem)
    assert "signingCredential.untrusted" in failure_of(caught)


# --- bad input ---


def test_a_manifest_that_asks_for_a_remote_fetch_is_refused(es256: C2paPki) -> None:
    remote = third_party_sign(es256, RED, remote_url="http://127.0.0.1:9/manifest.c2pa")
    with pytest.raises(C2paRemoteManifest) as caught:
        verify_c2pa(remote, PNG, es256.anchors_pem)
    assert caught.value.reason == "c2pa-remote-manifest"


def test_an_image_without_credentials_is_refused(es256: C2paPki) -> None:
    with pytest.raises(C2paManifestMissing):
        verify_c2pa(RED, PNG, es256.anchors_pem)


@pytest.mark.parametrize(
    ("data", "mime"),
    [(b"GIF89a....", "image/gif"), (b"not a png at all", PNG), (RED, "image/jpeg")],
)
def test_bytes_that_are_not_what_they_claim_are_refused(
    es256: C2paPki, data: bytes, mime: str
) -> None:
    with pytest.raises(C2paInputInvalid):
        verify_c2pa(data, mime, es256.anchors_pem)


def test_without_trust_anchors_nothing_validates(es256: C2paPki) -> None:
    signed = third_party_sign(es256, RED)
    with pytest.raises(C2paInputInvalid, match="trust anchor"):
        verify_c2pa(signed, PNG, b"")
    with pytest.raises(C2paInputInvalid, match="PEM"):
        verify_c2pa(signed, PNG, b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


def test_a_malformed_custody_assertion_is_refused(es256: C2paPki) -> None:
    bad = {"label": CUSTODY_ASSERTION_LABEL, "data": {"modelReference": "acme/x:latest"}}
    with pytest.raises(C2paAssertionInvalid):
        verify_c2pa(third_party_sign(es256, RED, assertions=[bad]), PNG, es256.anchors_pem)


def test_an_assertion_naming_another_model_than_its_manifest_is_refused(es256: C2paPki) -> None:
    case = scenario(steps=(0,))
    signed = sign_c2pa(
        RED, PNG, es256.signer(), model_reference=OTHER_MODEL, output_manifest=case.manifest
    )
    with pytest.raises(C2paAssertionInvalid, match="names model"):
        verify_c2pa(signed, PNG, es256.anchors_pem)


def test_signing_refuses_bad_input(es256: C2paPki) -> None:
    with pytest.raises(ProvenanceFormatError):
        sign_c2pa(b"not a png", PNG, es256.signer(), model_reference=MODEL)
    with pytest.raises(ProvenanceFormatError):
        sign_c2pa(RED, PNG, es256.signer(), model_reference="acme/x:latest")
    with pytest.raises(ProvenanceFormatError):
        sign_c2pa(RED, PNG, es256.signer(), model_reference=MODEL, output_manifest=IMAGE)


def test_validation_is_safe_from_several_threads(es256: C2paPki) -> None:
    signed = sign_c2pa(RED, PNG, es256.signer(), model_reference=MODEL)
    with ThreadPoolExecutor(4) as pool:
        states = set(
            pool.map(
                lambda _: verify_c2pa(signed, PNG, es256.anchors_pem).validation_state, range(40)
            )
        )
    assert states == {"Trusted"}
