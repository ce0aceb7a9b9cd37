"""Latent records: the canonical digest of a latent tensor, and one signed record per step.

The canonical digest covers a fixed header, then the raw tensor bytes::

    b"custody-latent/v1\\n" + b"dtype=<dtype>\\n" + b"shape=<d0>,<d1>,...\\n" + b"layout=C\\n\\n"

followed by the elements in C order, little-endian. The header makes the same
bytes read as another dtype or shape a different latent. The byte count must
equal ``product(shape) * itemsize``; nothing is copied (the buffer is hashed as
given), so a pipeline can call this on every step.

:class:`LatentRecorder` is the pipeline API: it holds the signer and the fixed
parameters of one generation and signs one record per call, linking each to
the previous one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from signing.keys import key_id
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.statements import (
    LatentInfo,
    LatentPredicate,
    LatentStatement,
    NodeInfo,
    Subject,
    hex_of,
    model_ref,
    sign_statement,
)
from signing.signers import Signer

__all__ = [
    "DTYPE_SIZES",
    "LatentRecorder",
    "SignedLatent",
    "canonical_latent_digest",
    "new_prompt_salt",
    "prompt_hash",
    "sign_latent_record",
]

DTYPE_SIZES: Mapping[str, int] = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
}
"""The element types a latent may have, with their sizes in bytes."""

MIN_SALT_BYTES = 16
_HEADER_MAGIC = b"custody-latent/v1\n"


def canonical_latent_digest(
    array_bytes: bytes | bytearray | memoryview, dtype: str, shape: Sequence[int]
) -> str:
    """``sha256:<hex>`` of a latent tensor: the fixed header, then its C-order little-endian bytes.

    With numpy: ``canonical_latent_digest(np.ascontiguousarray(x, x.dtype.newbyteorder("<")),
    x.dtype.name, x.shape)``.
    """
    size = DTYPE_SIZES.get(dtype)
    if size is None:
        raise ProvenanceFormatError(
            f"latent dtype {dtype!r} is not one of {', '.join(DTYPE_SIZES)}"
        )
    dims = [int(d) for d in shape]
    if not dims or any(d < 0 for d in dims) or len(dims) > 16:
        raise ProvenanceFormatError(f"latent shape {list(shape)} is not 1 to 16 sizes >= 0")
    view = memoryview(array_bytes)
    if not view.c_contiguous:
        raise ProvenanceFormatError("latent bytes are not C-contiguous")
    expected = math.prod(dims) * size
    if view.nbytes != expected:
        raise ProvenanceFormatError(
            f"latent holds {view.nbytes} bytes; {dtype} {dims} needs {expected}"
        )
    digest = hashlib.sha256(_HEADER_MAGIC)
    digest.update(f"dtype={dtype}\nshape={','.join(map(str, dims))}\nlayout=C\n\n".encode())
    digest.update(view.cast("B") if view.format != "B" or view.ndim != 1 else view)
    return "sha256:" + digest.hexdigest()


def new_prompt_salt() -> bytes:
    """A fresh random salt for :func:`prompt_hash` (keep it to prove the prompt later)."""
    return os.urandom(32)


def prompt_hash(prompt: str, salt: bytes) -> str:
    """``hmac-sha256:<hex>``: the prompt, keyed by a secret salt, never the prompt itself.

    Without the salt the hash cannot be tested against guessed prompts; with it,
    the creator can show which prompt was used.
    """
    if len(salt) < MIN_SALT_BYTES:
        raise ProvenanceFormatError(f"the prompt salt must be at least {MIN_SALT_BYTES} bytes")
    return "hmac-sha256:" + hmac.new(salt, prompt.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedLatent:
    """One signed latent record: the envelope and the digest the next record links to."""

    envelope: bytes
    digest: str
    latent_digest: str
    step: int


def sign_latent_record(
    signer: Signer,
    *,
    latent_digest: str,
    dtype: str,
    shape: Sequence[int],
    step: int,
    model_reference: str,
    sampler: str,
    scheduler: str,
    seed: int,
    guidance: float,
    prompt_hash: str,
    parent: str | None,
    node_id: str,
    runtime: Mapping[str, str] | None = None,
    parameters: Mapping[str, str | int | float | bool] | None = None,
) -> bytes:
    """A DSSE envelope (JSON bytes) over one latent record.

    ``model_reference`` is ``repository@sha256:<manifest digest>``; ``parent``
    is the previous record's digest (:func:`~signing.provenance.record_digest`),
    ``None`` for the first record of a chain.
    """
    return _sign(
        signer,
        latent_digest=latent_digest,
        dtype=dtype,
        shape=shape,
        step=step,
        model_reference=model_reference,
        sampler=sampler,
        scheduler=scheduler,
        seed=seed,
        guidance=guidance,
        prompt_hash=prompt_hash,
        parent=parent,
        node_id=node_id,
        runtime=runtime or {},
        parameters=parameters or {},
    ).envelope


def _sign(
    signer: Signer,
    *,
    latent_digest: str,
    dtype: str,
    shape: Sequence[int],
    step: int,
    model_reference: str,
    sampler: str,
    scheduler: str,
    seed: int,
    guidance: float,
    prompt_hash: str,
    parent: str | None,
    node_id: str,
    runtime: Mapping[str, str],
    parameters: Mapping[str, str | int | float | bool],
    node_key_id: str = "",
) -> SignedLatent:
    node_key_id = node_key_id or key_id(signer.public_key)
    if dtype not in DTYPE_SIZES:
        raise ProvenanceFormatError(
            f"latent dtype {dtype!r} is not one of {', '.join(DTYPE_SIZES)}"
        )
    try:
        statement = LatentStatement(
            subject=[Subject(name="latent", digest={"sha256": hex_of(latent_digest)})],
            predicate=LatentPredicate(
                model=model_ref(model_reference),
                step=step,
                sampler=sampler,
                scheduler=scheduler,
                seed=seed,
                guidance=float(guidance),
                parameters=dict(parameters),
                prompt_hash=prompt_hash,
                parent=parent,
                node=NodeInfo(id=node_id, key_id=node_key_id, runtime=dict(runtime)),
                latent=LatentInfo(dtype=dtype, shape=[int(d) for d in shape]),
            ),
        )
    except (ValueError, TypeError) as exc:
        raise ProvenanceFormatError(f"invalid latent record: {exc}") from None
    signed = sign_statement(statement, signer, keyid=node_key_id)
    return SignedLatent(signed.envelope, signed.digest, latent_digest, step)


@dataclass(slots=True)
class LatentRecorder:
    """Signs the latent records of one generation, one call per latent, each linked to the last.

    Example::

        recorder = LatentRecorder(signer, model_reference="acme/sd@sha256:...",
                                  sampler="euler", scheduler="karras", seed=42,
                                  guidance=7.5, prompt_hash=prompt_hash(prompt, salt),
                                  node_id="edge-01")
        for step, latent in enumerate(pipeline):
            recorder.record(latent.tobytes(), "float32", latent.shape, step)
        chain = recorder.chain        # envelopes, root first
        final = recorder.head         # the digest an output manifest names
    """

    signer: Signer
    model_reference: str
    sampler: str
    scheduler: str
    seed: int
    guidance: float
    prompt_hash: str
    node_id: str
    runtime: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    records: list[SignedLatent] = field(default_factory=list)
    _key_id: str = field(default="", init=False, repr=False)

    @property
    def head(self) -> str | None:
        """The digest of the last record signed, if any."""
        return self.records[-1].digest if self.records else None

    @property
    def chain(self) -> list[bytes]:
        """Every envelope signed so far, root first."""
        return [r.envelope for r in self.records]

    def record(
        self,
        array_bytes: bytes | bytearray | memoryview,
        dtype: str,
        shape: Sequence[int],
        step: int,
    ) -> SignedLatent:
        """Hash and sign one latent; its parent is the previous record."""
        if not self._key_id:
            self._key_id = key_id(self.signer.public_key)
        signed = _sign(
            self.signer,
            latent_digest=canonical_latent_digest(array_bytes, dtype, shape),
            dtype=dtype,
            shape=shape,
            step=step,
            model_reference=self.model_reference,
            sampler=self.sampler,
            scheduler=self.scheduler,
            seed=self.seed,
            guidance=self.guidance,
            prompt_hash=self.prompt_hash,
            parent=self.head,
            node_id=self.node_id,
            runtime=self.runtime,
            parameters=self.parameters,
            node_key_id=self._key_id,
        )
        self.records.append(signed)
        return signed
