"""Composable policies: thresholds over distinct signers, AllOf / AnyOf, audit."""

from __future__ import annotations

from pathlib import Path

import pytest

import verifier.signature_policies as policy_module
from signing.keys import generate_private_key
from signing.sign import sign_model
from signing.signers import CertificateSigner, KeySigner
from tests.support.signing_factories import make_model, make_pki
from verifier.errors import EmptyPolicy, PolicyError, ThresholdNotMet
from verifier.model import verify_model_with_policy
from verifier.signature_policies import (
    AllOf,
    AnyOf,
    Audit,
    Threshold,
    count_distinct_signers,
    group_by_signer,
)
from verifier.trust import SignerIdentity, TrustedCertificateAuthority, TrustedKey


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model", {"w.bin": b"weights", "c.json": b"{}"})


@pytest.fixture(scope="module")
def alice() -> KeySigner:
    return KeySigner(generate_private_key("ecdsa-p256"))


@pytest.fixture(scope="module")
def bob() -> KeySigner:
    return KeySigner(generate_private_key("ed25519"))


def _bundle(model: Path, signer: KeySigner | CertificateSigner) -> bytes:
    return sign_model(model, signer).bundle.to_bytes()


def test_two_of_two_distinct_keys(model: Path, alice: KeySigner, bob: KeySigner) -> None:
    policy = Threshold(
        2, [TrustedKey(alice.public_key, name="alice"), TrustedKey(bob.public_key, name="bob")]
    )
    result = verify_model_with_policy(model, [_bundle(model, alice), _bundle(model, bob)], policy)
    assert {s.trusted_as for s in result.signers} == {"alice", "bob"}
    assert result.manifest is not None


def test_missing_signature_says_how_many(model: Path, alice: KeySigner, bob: KeySigner) -> None:
    policy = Threshold(2, [TrustedKey(alice.public_key), TrustedKey(bob.public_key)])
    with pytest.raises(ThresholdNotMet) as caught:
        verify_model_with_policy(model, [_bundle(model, alice)], policy)
    assert (caught.value.required, caught.value.verified) == (2, 1)


def test_duplicate_keys_are_not_counted_twice(
    model: Path, alice: KeySigner, bob: KeySigner
) -> None:
    # The same key listed under two names, and two bundles signed by it.
    policy = Threshold(
        2,
        [
            TrustedKey(alice.public_key, name="alice"),
            TrustedKey(alice.public_key, name="alice-again"),
            TrustedKey(bob.public_key, name="bob"),
        ],
    )
    bundles = [_bundle(model, alice), _bundle(model, alice)]
    with pytest.raises(ThresholdNotMet, match="1 distinct"):
        verify_model_with_policy(model, bundles, policy)
    verify_model_with_policy(model, [*bundles, _bundle(model, bob)], policy)


def test_same_key_as_bare_key_and_in_a_certificate_counts_once(model: Path) -> None:
    pki = make_pki()
    bare = KeySigner(pki.leaf_key)
    certified = CertificateSigner(KeySigner(pki.leaf_key), [pki.leaf, *pki.intermediates])
    policy = Threshold(2, [TrustedKey(bare.public_key), TrustedCertificateAuthority([pki.root])])
    with pytest.raises(ThresholdNotMet):
        verify_model_with_policy(model, [_bundle(model, bare), _bundle(model, certified)], policy)


def test_distinct_count_merges_shared_principals() -> None:
    a = SignerIdentity("key", "k1")
    b = SignerIdentity("certificate", "k2", "CN=x", "CN=ca")
    c = SignerIdentity("certificate", "k1", "CN=y", "CN=ca")  # shares k1 with a
    d = SignerIdentity("certificate", "k3", "CN=x", "CN=ca")  # shares CN=x with b
    e = SignerIdentity("sigstore", "ephemeral", "ci@example.com", "https://issuer")
    f = SignerIdentity("sigstore", "ephemeral", "ci@example.com", "https://issuer")
    assert count_distinct_signers([a, b, c, d, e, f]) == 3
    assert count_distinct_signers([]) == 0


def test_grouping_joins_through_a_later_item_and_keeps_items_without_principals_apart() -> None:
    principals = {"a": {"k1"}, "b": {"k2"}, "c": {"k1", "k2"}, "x": set(), "y": set()}
    groups = group_by_signer(["a", "x", "b", "c", "y"], principals.__getitem__)
    # "c" joins the groups of "a" and "b": the joined group moves last, "c" first.
    assert groups == [["x"], ["c", "a", "b"], ["y"]]


def test_a_signature_over_other_content_does_not_count(
    model: Path, tmp_path: Path, alice: KeySigner, bob: KeySigner
) -> None:
    other = make_model(tmp_path / "other", {"w.bin": b"other weights", "c.json": b"{}"})
    policy = Threshold(2, [TrustedKey(alice.public_key), TrustedKey(bob.public_key)])
    with pytest.raises(ThresholdNotMet) as caught:
        verify_model_with_policy(model, [_bundle(model, alice), _bundle(other, bob)], policy)
    assert "[integrity]" in caught.value.diagnostics()
    assert "changed: w.bin" in caught.value.diagnostics()


def test_empty_composites_fail(model: Path, alice: KeySigner) -> None:
    bundles = [_bundle(model, alice)]
    for empty in (AllOf([]), AnyOf([]), Threshold(1, [])):
        with pytest.raises(EmptyPolicy):
            verify_model_with_policy(model, bundles, empty)


def test_all_of_and_any_of(model: Path, alice: KeySigner, bob: KeySigner) -> None:
    bundles = [_bundle(model, alice)]
    holds = Threshold(1, [TrustedKey(alice.public_key)])
    fails = Threshold(1, [TrustedKey(bob.public_key)])
    verify_model_with_policy(model, bundles, AnyOf([fails, holds]))
    verify_model_with_policy(model, bundles, AllOf([holds, holds]))
    with pytest.raises(ThresholdNotMet):
        verify_model_with_policy(model, bundles, AllOf([holds, fails]))
    with pytest.raises(PolicyError, match="none of 2 policies"):
        verify_model_with_policy(model, bundles, AnyOf([fails, fails]))


def test_audit_records_instead_of_failing(model: Path, alice: KeySigner, bob: KeySigner) -> None:
    result = verify_model_with_policy(
        model, [_bundle(model, alice)], Audit(Threshold(1, [TrustedKey(bob.public_key)]), label="x")
    )
    assert result.manifest is None
    assert result.findings and result.findings[0].startswith("audit: x: [policy]")


def test_the_model_is_hashed_once_for_many_policies(
    model: Path, alice: KeySigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = policy_module.check_integrity

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(policy_module, "check_integrity", counting)
    rule = Threshold(1, [TrustedKey(alice.public_key)])
    verify_model_with_policy(model, [_bundle(model, alice)], AllOf([rule, rule, AnyOf([rule])]))
    assert len(calls) == 1


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Threshold(0, [])
