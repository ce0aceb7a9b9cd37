"""Latent chains: every record signed by a trusted node, linked back to one root, consistent.

Rules, checked in this order (the first failure raises):

1. **Signatures.** Every record is a DSSE envelope over a latent record signed
   by a node key the namespace's reprint rule trusts, whose claimed node key is
   the key that verified (:mod:`verifier.provenance._envelopes`).
2. **Links.** A record's digest is the SHA-256 of its signed payload; its
   ``parent`` names another record's digest, or is ``null`` for the root. From
   the head (the record the output manifest names as its final latent) the
   parent links must reach a root without revisiting a record, and every record
   given must lie on that path: no gaps (:class:`BrokenParentLink`), no forks or
   strays (also :class:`BrokenParentLink`), no cycle (:class:`LatentChainLoop`),
   at least one root (:class:`MissingLatentRoot`). A record given twice is a
   broken chain. Because digests cover the parent field, a cycle needs a hash
   collision; the walk checks for one anyway.
3. **Consistency.** From root to head, every record names the same model
   version (reference and manifest digest), sampler, scheduler, seed, guidance,
   other parameters, prompt hash and latent dtype, shape and layout; step
   indexes strictly increase (gaps are allowed: a pipeline may sign every k-th
   step). Nodes may differ from record to record (a distributed pipeline), each
   trusted on its own.

Rule 1 is nearly all the cost (one signature check per record) and needs only
the node keys, not the head: :func:`authenticate_chain` does it on its own, so a
caller can run it while something else is under way (the hub checks a chain
while c2pa validates the image's credentials) and hand the result to
:func:`~verifier.provenance.verify_output`, which links it to the head later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from signing.provenance.statements import LatentStatement
from verifier.provenance._envelopes import Provenanced, authenticate
from verifier.provenance.errors import (
    BrokenParentLink,
    FinalLatentMismatch,
    LatentChainInconsistent,
    LatentChainLoop,
    MissingLatentRoot,
    ProvenanceError,
)
from verifier.provenance.reprint_policy import ReprintPolicy, TrustedIdentity

__all__ = [
    "MAX_CHAIN_RECORDS",
    "AuthenticatedChain",
    "NodeSummary",
    "VerifiedLatentChain",
    "authenticate_chain",
    "link_chain",
    "verify_latent_chain",
]

MAX_CHAIN_RECORDS = 10_000


@dataclass(frozen=True, slots=True)
class NodeSummary:
    """One record of a verified chain: its step, digests and the node that signed it."""

    step: int
    record_digest: str
    latent_digest: str
    node_name: str
    node_key_id: str
    node_id: str


@dataclass(frozen=True, slots=True)
class VerifiedLatentChain:
    """A verified chain, root first. ``model_reference`` is ``repository@sha256:...``."""

    root: str
    head: str
    model_reference: str
    model_manifest_digest: str
    sampler: str
    scheduler: str
    seed: int
    guidance: float
    prompt_hash: str
    records: tuple[NodeSummary, ...]

    @property
    def steps(self) -> tuple[int, ...]:
        """The step indexes, root first."""
        return tuple(r.step for r in self.records)


def link_chain(links: Mapping[str, str | None], head: str) -> list[str]:
    """The record digests from ``head`` back to the root, following ``links`` (digest -> parent).

    Raises :class:`MissingLatentRoot`, :class:`BrokenParentLink`,
    :class:`LatentChainLoop` or :class:`FinalLatentMismatch` (``head`` not given).
    """
    if not links:
        raise MissingLatentRoot("the latent chain is empty")
    if head not in links:
        raise FinalLatentMismatch(f"the final latent record {head} is not in the chain")
    has_root = any(parent is None for parent in links.values())
    path: list[str] = []
    seen: set[str] = set()
    current: str | None = head
    while current is not None:
        if current in seen:
            raise LatentChainLoop(f"latent record {current} is its own ancestor")
        seen.add(current)
        path.append(current)
        parent = links[current]
        if parent is not None and parent not in links:
            if not has_root:
                raise MissingLatentRoot(
                    f"no record of the chain is a root; {current} names parent {parent}, "
                    "which is not given"
                )
            raise BrokenParentLink(f"latent record {current} names parent {parent}, not given")
        current = parent
    if len(path) != len(links):
        strays = sorted(set(links) - seen)
        raise BrokenParentLink(
            f"{len(strays)} latent record(s) are not on the path from the final record to "
            f"the root (fork or unrelated record): {', '.join(strays[:3])}"
        )
    return path


_FIXED = ("model", "sampler", "scheduler", "seed", "guidance", "parameters", "prompt_hash")


def _check_consistent(records: Sequence[Provenanced[LatentStatement]]) -> None:
    root = records[0].statement.predicate
    for previous, record in pairwise(records):
        here = record.statement.predicate
        for name in _FIXED:
            if getattr(here, name) != getattr(root, name):
                raise LatentChainInconsistent(
                    f"latent record {record.digest} (step {here.step}) changes {name} "
                    "from the root record's",
                    field=name,
                )
        if here.latent != root.latent:
            raise LatentChainInconsistent(
                f"latent record {record.digest} (step {here.step}) changes the latent "
                f"dtype/shape from {root.latent.dtype} {root.latent.shape}",
                field="latent",
            )
        before = previous.statement.predicate.step
        if here.step <= before:
            raise LatentChainInconsistent(
                f"latent record {record.digest} has step {here.step}, not after its parent's "
                f"step {before}",
                field="step",
            )


@dataclass(frozen=True, slots=True, eq=False)
class AuthenticatedChain:
    """A chain after rule 1, for the node keys ``nodes``: its records (given order, by digest),
    or the first rule-1 failure, kept to be raised where verification reaches the chain.

    Made by :func:`authenticate_chain`; only the links and consistency (rules 2 and
    3) remain, which need the head.
    """

    envelopes: tuple[bytes, ...]
    nodes: tuple[TrustedIdentity, ...]
    records: Mapping[str, Provenanced[LatentStatement]] = field(repr=False)
    error: ProvenanceError | None = None


def _refuse_oversized(chain: Sequence[bytes]) -> None:
    if len(chain) > MAX_CHAIN_RECORDS:
        raise BrokenParentLink(
            f"the chain has {len(chain)} records, more than the {MAX_CHAIN_RECORDS} accepted"
        )


def authenticate_chain(
    chain: Sequence[bytes], nodes: Sequence[TrustedIdentity]
) -> AuthenticatedChain:
    """Rule 1 for every record of ``chain`` with these node keys (a rule's ``nodes``).

    Never raises a :class:`~verifier.provenance.errors.ProvenanceError`: the first
    failure (oversized chain, an envelope that does not authenticate, a record given
    twice), in the order :func:`verify_latent_chain` finds it, is kept in ``error``.
    """
    envelopes = tuple(chain)
    by_digest: dict[str, Provenanced[LatentStatement]] = {}
    try:
        _refuse_oversized(envelopes)
        for index, envelope in enumerate(envelopes):
            record = authenticate(envelope, LatentStatement, nodes, what=f"latent record #{index}")
            if record.digest in by_digest:
                raise BrokenParentLink(f"latent record {record.digest} is given twice")
            by_digest[record.digest] = record
    except ProvenanceError as exc:
        return AuthenticatedChain(envelopes, tuple(nodes), {}, exc)
    return AuthenticatedChain(envelopes, tuple(nodes), by_digest)


def verify_latent_chain(
    chain: Sequence[bytes],
    policy: ReprintPolicy,
    namespace: str,
    *,
    head: str | None = None,
) -> VerifiedLatentChain:
    """Verify a latent chain (envelopes in any order) for ``namespace`` (see the module rules).

    ``head`` is the digest of the final record (from the output manifest);
    without it the head is the one record no other record names as parent.
    """
    _refuse_oversized(chain)
    nodes = policy.rule_for(namespace).nodes
    return link_authenticated(authenticate_chain(chain, nodes), head)


def link_authenticated(chain: AuthenticatedChain, head: str | None) -> VerifiedLatentChain:
    """Rules 2 and 3 for a chain past rule 1 (raises its rule-1 failure first, if it had one)."""
    if chain.error is not None:
        raise chain.error.with_traceback(None)
    by_digest = chain.records
    links = {d: r.statement.predicate.parent for d, r in by_digest.items()}
    if head is None:
        head = _find_head(links)
    path = link_chain(links, head)
    ordered = [by_digest[d] for d in reversed(path)]
    _check_consistent(ordered)
    root = ordered[0].statement.predicate
    return VerifiedLatentChain(
        root=ordered[0].digest,
        head=ordered[-1].digest,
        model_reference=root.model.reference,
        model_manifest_digest=root.model.manifest_digest,
        sampler=root.sampler,
        scheduler=root.scheduler,
        seed=root.seed,
        guidance=root.guidance,
        prompt_hash=root.prompt_hash,
        records=tuple(
            NodeSummary(
                r.statement.predicate.step,
                r.digest,
                r.statement.latent_digest,
                r.signer.name,
                r.signer.key_id,
                r.statement.predicate.node.id,
            )
            for r in ordered
        ),
    )


def _find_head(links: Mapping[str, str | None]) -> str:
    if not links:
        raise MissingLatentRoot("the latent chain is empty")
    parents = {p for p in links.values() if p is not None}
    heads = [d for d in links if d not in parents]
    if not heads:
        raise LatentChainLoop("every record of the chain is another's parent: a cycle")
    if len(heads) > 1:
        raise BrokenParentLink(
            f"the chain has {len(heads)} final records (fork or unrelated records)"
        )
    return heads[0]
