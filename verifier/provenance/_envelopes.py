"""Authenticate one provenance envelope against the keys a reprint policy trusts for a role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from signing.keys import verify_bytes
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.statements import (
    LatentStatement,
    OutputStatement,
    decode_statement,
    parse_envelope,
    payload_digest,
)
from verifier.provenance.errors import (
    EnvelopeMalformed,
    IdentityClaimMismatch,
    ProvenanceSignatureInvalid,
    UntrustedCreator,
    UntrustedNode,
)
from verifier.provenance.reprint_policy import TrustedIdentity

__all__ = ["Provenanced", "authenticate"]

S = TypeVar("S", LatentStatement, OutputStatement)


@dataclass(frozen=True, slots=True)
class Provenanced(Generic[S]):
    """A statement whose signature verified: the statement, who signed it, its record digest."""

    statement: S
    signer: TrustedIdentity
    digest: str


def authenticate(
    envelope: bytes, kind: type[S], trusted: Sequence[TrustedIdentity], *, what: str = ""
) -> Provenanced[S]:
    """Verify ``envelope`` with one of ``trusted``, then decode and check its identity claim.

    The signature is checked before the payload is parsed as a statement; the
    envelope's ``keyid`` only narrows the keys tried. Raises
    :class:`EnvelopeMalformed`, :class:`ProvenanceSignatureInvalid`,
    :class:`UntrustedCreator` / :class:`UntrustedNode`, :class:`IdentityClaimMismatch`.
    """
    role = "creator" if kind is OutputStatement else "node"
    label = what or ("output manifest" if kind is OutputStatement else "latent record")
    try:
        parsed = parse_envelope(envelope)
    except ProvenanceFormatError as exc:
        raise EnvelopeMalformed(f"{label}: {exc}") from None
    signed = parsed.pae()
    named_but_failed = False
    signer: TrustedIdentity | None = None
    for signature in parsed.signatures:
        candidates = [t for t in trusted if not signature.keyid or t.answers_to(signature.keyid)]
        for candidate in candidates:
            if verify_bytes(candidate.public_key, signature.sig, signed):
                signer = candidate
                break
            if signature.keyid:
                named_but_failed = True
        if signer is not None:
            break
    if signer is None:
        if named_but_failed:
            raise ProvenanceSignatureInvalid(
                f"{label}: the signature does not verify with the trusted {role} key it names "
                "(edited payload or forged signature)"
            )
        error = UntrustedCreator if kind is OutputStatement else UntrustedNode
        raise error(f"{label} is not signed by any {role} the reprint policy trusts")
    try:
        statement = decode_statement(parsed.payload, kind)
    except ProvenanceFormatError as exc:
        raise EnvelopeMalformed(f"{label}: {exc}") from None
    claim = (
        statement.predicate.creator
        if isinstance(statement, OutputStatement)
        else statement.predicate.node
    )
    if not signer.answers_to(claim.key_id):
        raise IdentityClaimMismatch(
            f"{label} claims {role} key {claim.key_id[:16]}... but is signed by "
            f"{signer.name} ({signer.key_id[:16]}...)"
        )
    if signer.identity is not None and claim.id != signer.identity:
        raise IdentityClaimMismatch(
            f"{label} claims {role} id {claim.id!r}; {signer.name}'s key may only claim "
            f"{signer.identity!r}"
        )
    return Provenanced(statement, signer, payload_digest(parsed.payload))
