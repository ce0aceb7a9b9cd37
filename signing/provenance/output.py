"""Output manifests: who made an image, from which model and latent chain, under which terms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from signing.digests import Digest
from signing.keys import key_id
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.statements import (
    CreatorInfo,
    Ingredient,
    OutputPredicate,
    OutputStatement,
    Subject,
    hex_of,
    model_ref,
    sign_statement,
)
from signing.signers import Signer

__all__ = ["image_digest", "sign_output_manifest"]


def image_digest(image_bytes: bytes | memoryview) -> str:
    """``sha256:<hex>`` of the exact image bytes (what an output manifest's subject names)."""
    return str(Digest.of_bytes(image_bytes))


def sign_output_manifest(
    signer: Signer,
    *,
    image_digest: str,
    model_reference: str,
    final_latent: str,
    creator_id: str,
    license: str,
    terms: Sequence[str],
    ingredients: Sequence[str] = (),
    created: datetime | None = None,
) -> bytes:
    """A DSSE envelope (JSON bytes) over an output manifest.

    ``final_latent`` is the digest of the last latent record of the chain;
    ``ingredients`` are the image digests of the outputs a derived image was
    made from; ``created`` defaults to now (UTC, whole seconds).
    """
    when = (created or datetime.now(UTC)).replace(microsecond=0)
    if when.tzinfo is None:
        raise ProvenanceFormatError("the creation time needs a time zone")
    try:
        statement = OutputStatement(
            subject=[Subject(name="image", digest={"sha256": hex_of(image_digest)})],
            predicate=OutputPredicate(
                model=model_ref(model_reference),
                final_latent=final_latent,
                creator=CreatorInfo(id=creator_id, key_id=key_id(signer.public_key)),
                created=when.astimezone(UTC),
                license=license,
                terms=list(terms),
                ingredients=[Ingredient(digest=d) for d in ingredients],
            ),
        )
    except (ValueError, TypeError) as exc:
        raise ProvenanceFormatError(f"invalid output manifest: {exc}") from None
    return sign_statement(statement, signer).envelope
