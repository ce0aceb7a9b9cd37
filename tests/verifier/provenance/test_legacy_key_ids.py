"""Records signed before the key id became the OMS hint stay verifiable (ADR 0008).

They carry the legacy id (SHA-256 of the DER public key) in the envelope's
``keyid`` and in the node / creator claim. The log holds such records, so a
verifier accepts the legacy id as a second name of a key it already trusts; the
signature is still checked with that key. New records carry only the new id.
"""

from __future__ import annotations

import msgspec
import pytest

from signing.keys import generate_private_key, key_id, legacy_key_id
from signing.provenance import (
    LatentStatement,
    OutputStatement,
    decode_statement,
    image_digest,
    parse_envelope,
    record_digest,
)
from signing.provenance.statements import sign_statement
from signing.signers import KeySigner
from tests.support.provenance_factories import IMAGE, output_for, policy_for, record, trusted
from verifier.provenance import (
    IdentityClaimMismatch,
    ProvenanceSignatureInvalid,
    UntrustedNode,
    verify_output,
)


def _resigned(envelope: bytes, signer: KeySigner, claimed: str, keyid: str) -> bytes:
    """``envelope``'s statement with the node / creator claiming ``claimed``, signed anew."""
    payload = parse_envelope(envelope).payload
    statement: LatentStatement | OutputStatement
    if b"output-manifest" in payload:
        output = decode_statement(payload, OutputStatement)
        creator = msgspec.structs.replace(output.predicate.creator, key_id=claimed)
        predicate = msgspec.structs.replace(output.predicate, creator=creator)
        statement = msgspec.structs.replace(output, predicate=predicate)
    else:
        latent = decode_statement(payload, LatentStatement)
        node = msgspec.structs.replace(latent.predicate.node, key_id=claimed)
        statement = msgspec.structs.replace(
            latent, predicate=msgspec.structs.replace(latent.predicate, node=node)
        )
    return sign_statement(statement, signer, keyid=keyid).envelope


def _legacy(envelope: bytes, signer: KeySigner, claimed: str = "") -> bytes:
    """As the previous release signed it: the DER key id in the claim and the envelope."""
    legacy = legacy_key_id(signer.public_key)
    return _resigned(envelope, signer, claimed or legacy, legacy)


def _chain(node: KeySigner, steps: int, signer: KeySigner | None = None) -> list[bytes]:
    chain: list[bytes] = []
    for step in range(steps):
        parent = record_digest(chain[-1]) if chain else None
        chain.append(_legacy(record(node, step, parent), signer or node))
    return chain


@pytest.fixture
def keys() -> tuple[KeySigner, KeySigner]:
    return KeySigner(generate_private_key("ecdsa-p256")), KeySigner(generate_private_key("ed25519"))


def test_a_chain_and_manifest_signed_with_the_der_key_id_still_verify(keys) -> None:
    creator, node = keys
    assert legacy_key_id(node.public_key) != key_id(node.public_key)
    chain = _chain(node, 2)
    assert parse_envelope(chain[1]).signatures[0].keyid == legacy_key_id(node.public_key)
    manifest = _legacy(output_for(creator, record_digest(chain[-1])), creator)
    policy = policy_for([trusted(creator, "alice")], [trusted(node, "edge-01")])

    verified = verify_output(manifest, image_digest(IMAGE), chain, policy, "acme/art")
    assert verified.creator.name == "alice"
    assert verified.creator.key_id == key_id(creator.public_key)
    assert verified.chain.steps == (0, 1)


def test_the_legacy_id_of_a_trusted_key_does_not_vouch_for_another_key(keys) -> None:
    creator, node = keys
    stranger = KeySigner(generate_private_key("ed25519"))
    policy = policy_for([trusted(creator, "alice")], [trusted(node, "edge-01")])
    # A stranger names the trusted node's legacy id: the trusted key does not verify it.
    legacy = legacy_key_id(node.public_key)
    forged = [_resigned(record(stranger, 0, None), stranger, legacy, legacy)]
    manifest = output_for(creator, record_digest(forged[0]))
    with pytest.raises(ProvenanceSignatureInvalid):
        verify_output(manifest, image_digest(IMAGE), forged, policy, "acme/art")
    # Signed by the stranger under its own legacy id: not a trusted node at all.
    own = _chain(stranger, 1)
    manifest = output_for(creator, record_digest(own[0]))
    with pytest.raises(UntrustedNode):
        verify_output(manifest, image_digest(IMAGE), own, policy, "acme/art")


def test_a_claim_of_another_keys_legacy_id_is_still_a_mismatch(keys) -> None:
    creator, node = keys
    chain = _chain(node, 1)
    other = legacy_key_id(KeySigner(generate_private_key("ecdsa-p256")).public_key)
    manifest = _legacy(output_for(creator, record_digest(chain[0])), creator, claimed=other)
    policy = policy_for([trusted(creator, "alice")], [trusted(node, "edge-01")])
    with pytest.raises(IdentityClaimMismatch):
        verify_output(manifest, image_digest(IMAGE), chain, policy, "acme/art")


def test_an_ml_dsa_key_id_is_a_valid_key_id(keys) -> None:
    _, node = keys
    ml_dsa_id = "ML_DSA_65:" + "ab" * 32
    signed = _resigned(record(node, 0, None), node, ml_dsa_id, ml_dsa_id)
    assert parse_envelope(signed).signatures[0].keyid == ml_dsa_id
    assert (
        decode_statement(parse_envelope(signed).payload, LatentStatement).predicate.node.key_id
        == ml_dsa_id
    )
