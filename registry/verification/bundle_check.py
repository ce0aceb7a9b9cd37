"""The registry's check of one OMS bundle against one version: pure, run off the event loop.

The registry already knows every layer's sha256 (blobs are stored by it), so a
bundle that lists per-file sha256 digests is checked by comparing names and
digests — no byte is re-read. The signature itself is checked by the same
``verifier`` code an edge device runs (:mod:`verifier.trust`), against the
rule of the trust policy for the version's repository (``namespace/model``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from signing.manifest import Manifest, Method
from verifier.errors import KeyMismatch, VerificationError
from verifier.model import load_bundle
from verifier.trust import Authenticated
from verifier.trust_policy_file import TrustPolicy

__all__ = ["Verdict", "verify_bundle"]

VERIFIED = "verified"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one bundle for one version (what a ``signature_verifications`` row holds)."""

    outcome: str
    reason: str
    failed_check: str | None = None
    signer: str | None = None
    trusted_as: str | None = None
    principals: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.outcome == VERIFIED


def _failed(check: str, reason: str, authenticated: Authenticated | None = None) -> Verdict:
    identity = authenticated.identity if authenticated else None
    return Verdict(
        FAILED,
        reason,
        check,
        signer=str(identity) if identity else None,
        trusted_as=identity.trusted_as if identity else None,
    )


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts or "\\" in name or not name


def _compare(manifest: Manifest, files: Sequence[tuple[str, str]]) -> str | None:
    """Why the signed resources differ from the version's files; ``None`` when they agree."""
    serialization = manifest.serialization
    if serialization.method is not Method.FILES or serialization.resource_algorithm != "sha256":
        return (
            f"the bundle uses {serialization.method.value}/{serialization.resource_algorithm} "
            "serialization; the registry checks per-file sha256 bundles (sign with the default "
            "'files' serialization), edge verifiers check the others"
        )
    signed = {r.name: r.digest.hex() for r in manifest.resources}
    present = dict(files)
    missing = sorted(set(present) - set(signed))
    extra = sorted(set(signed) - set(present))
    changed = sorted(n for n in set(signed) & set(present) if signed[n] != present[n])
    parts = []
    for label, names in (("changed", changed), ("not in the version", extra)):
        if names:
            parts.append(f"{label}: {', '.join(names[:5])}" + (" ..." if len(names) > 5 else ""))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        parts.append(f"unsigned files of the version: {shown}")
    return "; ".join(parts) or None


def verify_bundle(
    bundle: bytes,
    files: Sequence[tuple[str, str]],
    trust: TrustPolicy | None,
    repository: str,
) -> Verdict:
    """Check ``bundle`` against a version's ``files`` ((name, sha256 hex)) and the trust policy
    rule of ``repository`` (``namespace/model``)."""
    if trust is None:
        return _failed("policy", "no trust policy is configured (CUSTODY_TRUST_POLICY)")
    try:
        rule = trust.rule_for(repository)
        loaded = load_bundle(bundle, label="signature")
    except VerificationError as exc:
        return _failed(exc.check, exc.diagnostics())
    authenticated: Authenticated | None = None
    best: VerificationError | None = None
    for signer in rule.signers:
        try:
            authenticated = signer.authenticate(loaded.bundle)
            break
        except VerificationError as exc:
            if best is None or isinstance(best, KeyMismatch):
                best = exc
    if authenticated is None:
        if best is None:
            return _failed("identity", "the trust rule lists no signers")
        return _failed(best.check, best.diagnostics())
    names = [r.name for r in authenticated.manifest.resources]
    unsafe = [n for n in names if _unsafe(n)]
    if unsafe:
        return _failed("path", f"resource names escape the model: {unsafe[:3]}", authenticated)
    difference = _compare(authenticated.manifest, files)
    if difference is not None:
        return _failed("integrity", f"bundle is for other content: {difference}", authenticated)
    identity = authenticated.identity
    return Verdict(
        VERIFIED,
        f"signed by {identity} under trust rule {rule.match!r}",
        signer=str(identity),
        trusted_as=identity.trusted_as,
        principals=tuple(sorted(identity.principals())),
    )
