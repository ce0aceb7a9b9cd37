"""Output manifests: trusted creator, the exact image, a verified chain, one model version."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from signing.keys import generate_private_key
from signing.provenance import image_digest, sign_output_manifest
from signing.signers import KeySigner
from tests.support.provenance_factories import (
    IMAGE,
    MODEL,
    OTHER_MODEL,
    latent,
    make_recorder,
    output_for,
    policy_for,
    scenario,
    trusted,
)
from verifier.provenance import (
    BrokenParentLink,
    CreatedInFuture,
    EnvelopeMalformed,
    FinalLatentMismatch,
    IdentityClaimMismatch,
    ImageDigestMismatch,
    LatentChainRequired,
    ModelMismatch,
    UntrustedCreator,
    UntrustedNode,
    authenticate_chain,
    verify_output,
)
from verifier.provenance.latent_chain import MAX_CHAIN_RECORDS


def test_a_signed_output_verifies_with_everything_the_hub_needs() -> None:
    case = scenario(steps=(0, 1, 2))
    parent = image_digest(b"parent")
    manifest = output_for(case.creator, case.recorder.head or "", ingredients=[parent])
    verified = verify_output(manifest, image_digest(IMAGE), case.chain, case.policy, "acme/art")
    assert verified.creator.name == "alice"
    assert verified.creator.claimed_id == "mailto:alice@acme.example"
    assert verified.model_reference == MODEL
    assert verified.model_manifest_digest == MODEL.split("@")[1]
    assert verified.final_latent == case.recorder.head
    assert verified.license == "CC-BY-NC-4.0"
    assert verified.terms == ("attribution", "non-commercial")
    assert verified.ingredients == (parent,)
    assert verified.chain.steps == (0, 1, 2)
    assert verified.manifest_digest.startswith("sha256:")


def test_a_manifest_for_other_image_bytes_is_refused() -> None:
    case = scenario()
    with pytest.raises(ImageDigestMismatch) as caught:
        verify_output(case.manifest, image_digest(b"other"), case.chain, case.policy, "acme/a")
    assert caught.value.reason == "image-digest-mismatch"
    with pytest.raises(ImageDigestMismatch):
        verify_output(case.manifest, "IMAGE", case.chain, case.policy, "acme/a")


def test_an_untrusted_creator_is_refused() -> None:
    case = scenario()
    stranger = KeySigner(generate_private_key("ecdsa-p256"))
    forged = output_for(stranger, case.recorder.head or "")
    with pytest.raises(UntrustedCreator) as caught:
        verify_output(forged, image_digest(IMAGE), case.chain, case.policy, "acme/a")
    assert caught.value.reason == "untrusted-creator"
    # A node key is not a creator key.
    by_node = output_for(case.node, case.recorder.head or "")
    with pytest.raises(UntrustedCreator):
        verify_output(by_node, image_digest(IMAGE), case.chain, case.policy, "acme/a")


def test_a_pinned_identity_must_be_the_one_claimed() -> None:
    case = scenario()
    pinned = policy_for(
        [trusted(case.creator, "alice", identity="mailto:bob@acme.example")],
        [trusted(case.node, "edge-01")],
    )
    with pytest.raises(IdentityClaimMismatch, match="bob"):
        verify_output(case.manifest, image_digest(IMAGE), case.chain, pinned, "acme/a")


def test_the_final_latent_must_head_the_chain_given() -> None:
    case = scenario(steps=(0, 1, 2))
    early = output_for(case.creator, case.recorder.records[1].digest)
    # The chain then has a stray record (step 2) beyond the named final one.
    with pytest.raises(BrokenParentLink, match="not on the path"):
        verify_output(early, image_digest(IMAGE), case.chain, case.policy, "acme/a")
    other = scenario()
    policy = policy_for([trusted(case.creator, "alice")], [trusted(other.node, "edge-02")])
    with pytest.raises(FinalLatentMismatch):
        verify_output(case.manifest, image_digest(IMAGE), other.chain, policy, "acme/a")


def test_the_manifest_and_chain_must_name_one_model() -> None:
    case = scenario()
    wrong = output_for(case.creator, case.recorder.head or "", model=OTHER_MODEL)
    with pytest.raises(ModelMismatch):
        verify_output(wrong, image_digest(IMAGE), case.chain, case.policy, "acme/a")


def test_a_latent_record_is_not_an_output_manifest() -> None:
    node = KeySigner(generate_private_key("ed25519"))
    recorder = make_recorder(node)
    recorder.record(latent(0), "float32", (1, 4, 2, 2), 0)
    policy = policy_for([trusted(node, "both")], [trusted(node, "both")])
    with pytest.raises(EnvelopeMalformed):
        verify_output(recorder.chain[0], image_digest(IMAGE), recorder.chain, policy, "acme/a")
    manifest = sign_output_manifest(
        node,
        image_digest=image_digest(IMAGE),
        model_reference=MODEL,
        final_latent=recorder.head or "",
        creator_id="n",
        license="MIT",
        terms=["reprint-allowed"],
    )
    with pytest.raises(EnvelopeMalformed):
        verify_output(manifest, image_digest(IMAGE), [manifest], policy, "acme/a")


def test_a_creation_time_in_the_future_is_refused() -> None:
    case = scenario(steps=(0,))
    when = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    manifest = sign_output_manifest(
        case.creator,
        image_digest=image_digest(IMAGE),
        model_reference=MODEL,
        final_latent=case.recorder.head or "",
        creator_id="alice",
        license="MIT",
        terms=["reprint-allowed"],
        created=when,
    )
    args = (manifest, image_digest(IMAGE), case.chain, case.policy, "acme/a")
    with freeze_time("2030-06-01 11:56:00"):  # within the allowed clock skew
        assert verify_output(*args).created == when
    with freeze_time("2030-06-01 11:54:59"), pytest.raises(CreatedInFuture) as caught:
        verify_output(*args)
    assert caught.value.reason == "created-in-future"
    assert verify_output(*args, now=when).created == when


def test_a_chain_authenticated_ahead_verifies_like_the_envelopes() -> None:
    case = scenario(steps=(0, 1, 2))
    ahead = authenticate_chain(case.chain, case.policy.rule_for("acme/a").nodes)
    assert ahead.error is None
    verified = verify_output(case.manifest, image_digest(IMAGE), ahead, case.policy, "acme/a")
    direct = verify_output(case.manifest, image_digest(IMAGE), case.chain, case.policy, "acme/a")
    assert verified == direct


def test_a_chain_failure_found_ahead_is_raised_where_the_chain_is_checked() -> None:
    case = scenario(steps=(0, 1, 2))
    stranger = KeySigner(generate_private_key("ed25519"))
    forged = make_recorder(stranger)
    forged.record(latent(0), "float32", (1, 4, 2, 2), 0)
    chain = [*case.chain, *forged.chain]
    ahead = authenticate_chain(chain, case.policy.rule_for("acme/a").nodes)
    assert isinstance(ahead.error, UntrustedNode)
    # Checks that come before the chain still win, as with the envelopes...
    for given in (chain, ahead):
        with pytest.raises(ImageDigestMismatch):
            verify_output(case.manifest, image_digest(b"other"), given, case.policy, "acme/a")
    # ...and the chain's own failure is the same one, every time it is reached.
    for given in (chain, ahead, ahead):
        with pytest.raises(UntrustedNode, match="latent record #3"):
            verify_output(case.manifest, image_digest(IMAGE), given, case.policy, "acme/a")
    too_long = authenticate_chain([b"{}"] * (MAX_CHAIN_RECORDS + 1), ())
    assert isinstance(too_long.error, BrokenParentLink)


def test_a_chain_authenticated_with_other_keys_is_checked_again() -> None:
    case = scenario()
    stranger = trusted(KeySigner(generate_private_key("ed25519")), "stranger")
    # Authenticated with keys the namespace's rule does not hold: the rule's keys decide.
    untrusting = authenticate_chain(case.chain, (stranger,))
    assert isinstance(untrusting.error, UntrustedNode)
    verified = verify_output(case.manifest, image_digest(IMAGE), untrusting, case.policy, "acme/a")
    assert verified.chain.steps == (0, 1, 2)
    # Authenticated with trusting keys, verified for a rule that does not trust the node.
    trusting = authenticate_chain(case.chain, case.policy.rule_for("acme/a").nodes)
    strict = policy_for([trusted(case.creator, "alice")], [stranger])
    with pytest.raises(UntrustedNode):
        verify_output(case.manifest, image_digest(IMAGE), trusting, strict, "acme/a")


def test_without_a_chain_the_rule_must_allow_it_and_the_manifest_still_counts() -> None:
    case = scenario()
    with pytest.raises(LatentChainRequired) as caught:
        verify_output(case.manifest, image_digest(IMAGE), None, case.policy, "acme/art")
    assert caught.value.reason == "latent-chain-required" and caught.value.exit_code == 9
    rule = replace(case.policy.rules[0], c2pa_without_latents=True)
    allowing = replace(case.policy, rules=(rule,))
    verified = verify_output(case.manifest, image_digest(IMAGE), None, allowing, "acme/art")
    assert verified.chain is None
    assert verified.model_reference == MODEL and verified.final_latent == case.recorder.head
    with pytest.raises(ImageDigestMismatch):
        verify_output(case.manifest, image_digest(b"other"), None, allowing, "acme/art")
    stranger = KeySigner(generate_private_key("ed25519"))
    forged = output_for(stranger, case.recorder.head or "")
    with pytest.raises(UntrustedCreator):
        verify_output(forged, image_digest(IMAGE), None, allowing, "acme/art")
