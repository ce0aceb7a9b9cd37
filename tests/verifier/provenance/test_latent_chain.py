"""Latent chains: signatures by trusted nodes, parent links back to one root, consistency."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.keys import generate_private_key
from signing.provenance import record_digest
from signing.signers import KeySigner
from tests.support.provenance_factories import (
    OTHER_MODEL,
    policy_for,
    record,
    scenario,
    trusted,
)
from verifier.provenance import (
    BrokenParentLink,
    FinalLatentMismatch,
    LatentChainInconsistent,
    LatentChainLoop,
    MissingLatentRoot,
    NoReprintRule,
    ProvenanceError,
    ProvenanceSignatureInvalid,
    UntrustedNode,
    link_chain,
    verify_latent_chain,
)


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256", "ecdsa-p384"])
def test_a_chain_verifies_root_first_in_any_order(key_type: str) -> None:
    case = scenario(steps=(0, 3, 7, 9), key_type=key_type)
    shuffled = list(case.chain)
    random.Random(7).shuffle(shuffled)
    chain = verify_latent_chain(shuffled, case.policy, "acme/studio")
    assert chain.steps == (0, 3, 7, 9)
    assert chain.root == record_digest(case.chain[0])
    assert chain.head == case.recorder.head
    assert chain.model_reference.startswith("acme/sd-turbo@sha256:")
    assert {r.node_name for r in chain.records} == {"edge-01"}
    assert chain.records[1].latent_digest == case.recorder.records[1].latent_digest


def test_nodes_may_differ_along_a_chain_each_trusted() -> None:
    first, second = (KeySigner(generate_private_key("ed25519")) for _ in range(2))
    root = record(first, 0, None)
    child = record(second, 1, record_digest(root))
    policy = policy_for([], [trusted(first, "a"), trusted(second, "b")])
    chain = verify_latent_chain([root, child], policy, "acme/x")
    assert [r.node_name for r in chain.records] == ["a", "b"]
    # The same chain with only the first node trusted fails on the second record.
    with pytest.raises(UntrustedNode, match="#1"):
        verify_latent_chain([root, child], policy_for([], [trusted(first, "a")]), "acme/x")


def test_a_broken_parent_link_is_refused() -> None:
    case = scenario(steps=(0, 1, 2))
    with pytest.raises(BrokenParentLink) as caught:
        verify_latent_chain([case.chain[0], case.chain[2]], case.policy, "acme/studio")
    assert caught.value.reason == "broken-parent-link"
    assert caught.value.exit_code == 7


def test_a_missing_root_is_refused() -> None:
    case = scenario(steps=(0, 1, 2))
    with pytest.raises(MissingLatentRoot) as caught:
        verify_latent_chain(case.chain[1:], case.policy, "acme/studio")
    assert caught.value.reason == "missing-latent-root"
    with pytest.raises(MissingLatentRoot):
        verify_latent_chain([], case.policy, "acme/studio")


def test_a_loop_is_refused() -> None:
    # Record digests cover the parent field, so a signed cycle needs a hash
    # collision: the walk over the links is exercised directly.
    with pytest.raises(LatentChainLoop) as caught:
        link_chain(
            {"sha256:a": "sha256:b", "sha256:b": "sha256:c", "sha256:c": "sha256:a"}, "sha256:a"
        )
    assert caught.value.reason == "latent-chain-loop"
    with pytest.raises(LatentChainLoop):
        link_chain({"sha256:a": "sha256:a", "sha256:r": None}, "sha256:a")


def test_forks_strays_and_duplicates_are_refused() -> None:
    case = scenario(steps=(0, 1))
    sibling = record(case.node, 5, record_digest(case.chain[0]))
    with pytest.raises(BrokenParentLink, match="final records"):
        verify_latent_chain([*case.chain, sibling], case.policy, "acme/studio")
    with pytest.raises(BrokenParentLink, match="not on the path"):
        verify_latent_chain(
            [*case.chain, sibling], case.policy, "acme/studio", head=case.recorder.head
        )
    with pytest.raises(BrokenParentLink, match="twice"):
        verify_latent_chain([*case.chain, case.chain[0]], case.policy, "acme/studio")


def test_a_head_outside_the_chain_is_refused() -> None:
    case = scenario(steps=(0, 1))
    with pytest.raises(FinalLatentMismatch):
        verify_latent_chain(case.chain, case.policy, "acme/studio", head="sha256:" + "0" * 64)


def test_an_untrusted_node_key_is_refused() -> None:
    case = scenario(steps=(0, 1))
    stranger = KeySigner(generate_private_key("ed25519"))
    policy = policy_for([], [trusted(stranger, "someone-else")])
    with pytest.raises(UntrustedNode) as caught:
        verify_latent_chain(case.chain, policy, "acme/studio")
    assert caught.value.reason == "untrusted-node"
    assert caught.value.check == "identity"


def test_an_edited_record_fails_its_signature() -> None:
    import base64
    import json

    case = scenario(steps=(0,))
    envelope = json.loads(case.chain[0])
    payload = base64.b64decode(envelope["payload"]).replace(b'"seed":42', b'"seed":43')
    envelope["payload"] = base64.b64encode(payload).decode()
    with pytest.raises(ProvenanceSignatureInvalid) as caught:
        verify_latent_chain([json.dumps(envelope).encode()], case.policy, "acme/studio")
    assert caught.value.reason == "signature-invalid"


def test_a_namespace_without_a_rule_is_refused() -> None:
    case = scenario(steps=(0,))
    with pytest.raises(NoReprintRule):
        verify_latent_chain(case.chain, case.policy, "other/studio")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seed": 7}, "seed"),
        ({"sampler": "ddim"}, "sampler"),
        ({"model": OTHER_MODEL}, "model"),
        ({"shape": (1, 4, 4, 4)}, "latent"),
    ],
)
def test_parameters_must_stay_the_same_along_the_chain(
    change: dict[str, object], field: str
) -> None:
    node = KeySigner(generate_private_key("ed25519"))
    root = record(node, 0, None)
    child = record(node, 1, record_digest(root), **change)  # type: ignore[arg-type]
    policy = policy_for([], [trusted(node, "edge")])
    with pytest.raises(LatentChainInconsistent) as caught:
        verify_latent_chain([root, child], policy, "acme/x")
    assert caught.value.field == field
    assert caught.value.reason == "latent-chain-inconsistent"


@pytest.mark.parametrize("steps", [(3, 3), (5, 2)])
def test_steps_must_strictly_increase(steps: tuple[int, int]) -> None:
    node = KeySigner(generate_private_key("ed25519"))
    root = record(node, steps[0], None)
    child = record(node, steps[1], record_digest(root))
    with pytest.raises(LatentChainInconsistent) as caught:
        verify_latent_chain([root, child], policy_for([], [trusted(node, "edge")]), "acme/x")
    assert caught.value.field == "step"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_anywhere_in_a_record_is_a_typed_failure(position: int, bit: int) -> None:
    case = _FUZZ_CASE
    envelope = bytearray(case.chain[0])
    envelope[position % len(envelope)] ^= 1 << bit
    try:
        chain = verify_latent_chain([bytes(envelope)], case.policy, "acme/studio")
    except ProvenanceError:
        return
    # Only a change that leaves the signed payload intact may pass (e.g. JSON whitespace).
    assert chain.root == record_digest(case.chain[0])


_FUZZ_CASE = scenario(steps=(0,))
