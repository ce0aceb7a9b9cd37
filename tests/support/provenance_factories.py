"""Builders for provenance tests: keys, a reprint policy, signed latent chains and outputs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from signing.keys import generate_private_key, key_id
from signing.provenance import (
    LatentRecorder,
    canonical_latent_digest,
    image_digest,
    prompt_hash,
    sign_latent_record,
    sign_output_manifest,
)
from signing.signers import KeySigner
from verifier.provenance import STANDARD_TERMS, ReprintPolicy, ReprintRule, TrustedIdentity

MODEL = "acme/sd-turbo@sha256:" + "ab" * 32
OTHER_MODEL = "acme/sd-turbo@sha256:" + "cd" * 32
IMAGE = b"\x89PNG not really, but bytes all the same"
SALT = b"s" * 32


def trusted(signer: KeySigner, name: str, identity: str | None = None) -> TrustedIdentity:
    return TrustedIdentity(name, signer.public_key, key_id(signer.public_key), identity)


def policy_for(
    creators: Sequence[TrustedIdentity], nodes: Sequence[TrustedIdentity], match: str = "acme/**"
) -> ReprintPolicy:
    return ReprintPolicy((ReprintRule(match, tuple(creators), tuple(nodes), 1),), STANDARD_TERMS)


def latent(step: int) -> bytes:
    """A small float32 (1, 4, 2, 2) latent whose bytes depend on the step."""
    return bytes([step % 256]) * 64


@dataclass
class Scenario:
    """A creator, a node, a three-step chain and an output manifest over IMAGE."""

    creator: KeySigner
    node: KeySigner
    recorder: LatentRecorder
    manifest: bytes = b""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def chain(self) -> list[bytes]:
        return self.recorder.chain

    @property
    def policy(self) -> ReprintPolicy:
        return policy_for([trusted(self.creator, "alice")], [trusted(self.node, "edge-01")])


def make_recorder(node: KeySigner, model: str = MODEL, seed: int = 42) -> LatentRecorder:
    return LatentRecorder(
        node,
        model_reference=model,
        sampler="euler",
        scheduler="karras",
        seed=seed,
        guidance=7.5,
        prompt_hash=prompt_hash("a red fox", SALT),
        node_id="edge-01",
        runtime={"onnxruntime": "1.20"},
        parameters={"steps": 30, "width": 1024},
    )


def scenario(steps: Sequence[int] = (0, 1, 2), key_type: str = "ed25519") -> Scenario:
    creator = KeySigner(generate_private_key("ecdsa-p256"))
    node = KeySigner(generate_private_key(key_type))
    recorder = make_recorder(node)
    for step in steps:
        recorder.record(latent(step), "float32", (1, 4, 2, 2), step)
    result = Scenario(creator, node, recorder)
    result.manifest = output_for(creator, recorder.head or "")
    return result


def output_for(
    creator: KeySigner,
    final: str,
    *,
    image: bytes = IMAGE,
    model: str = MODEL,
    terms: Sequence[str] = ("attribution", "non-commercial"),
    ingredients: Sequence[str] = (),
) -> bytes:
    return sign_output_manifest(
        creator,
        image_digest=image_digest(image),
        model_reference=model,
        final_latent=final,
        creator_id="mailto:alice@acme.example",
        license="CC-BY-NC-4.0",
        terms=terms,
        ingredients=ingredients,
    )


def record(
    node: KeySigner,
    step: int,
    parent: str | None,
    *,
    model: str = MODEL,
    seed: int = 42,
    sampler: str = "euler",
    shape: Sequence[int] = (1, 4, 2, 2),
) -> bytes:
    data = bytes([step % 256]) * (4 * math.prod(shape))
    return sign_latent_record(
        node,
        latent_digest=canonical_latent_digest(data, "float32", shape),
        dtype="float32",
        shape=shape,
        step=step,
        model_reference=model,
        sampler=sampler,
        scheduler="karras",
        seed=seed,
        guidance=7.5,
        prompt_hash=prompt_hash("a red fox", SALT),
        parent=parent,
        node_id="edge-01",
        runtime={"onnxruntime": "1.20"},
        parameters={"steps": 30, "width": 1024},
    )
