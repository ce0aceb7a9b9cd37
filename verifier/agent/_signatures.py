"""The model's OMS signatures: fetched as OCI referrers, verified against the local trust policy.

Signatures are not in TUF: TUF says which version is current, the OMS bundles
say who released it. The bundles are the referrers of the version manifest
(artifact type ``application/vnd.dev.sigstore.bundle.v0.3+json``); each referrer
must name that manifest as its subject.

The policy is the operator's own (``verifier.trust_policy_file``) for the repository's
namespace. Integrity is checked against the files' sha256 digests the agent has
already verified byte for byte against the signed TUF targets, instead of hashing
the model again: for ``files``/sha256 signatures that is the same comparison
``verify_model_with_policy`` makes (exact file set, every digest). Other
serializations (sharded hashing) are checked by hashing hard links to the cached
blobs with the regular integrity check.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from signing.errors import UnsafePathError
from signing.manifest import HashAlgorithm, Manifest, Method, check_name
from signing.oms import BUNDLE_MEDIA_TYPE, MAX_BUNDLE_SIZE
from verifier.agent._cache import BlobCache
from verifier.agent.errors import AgentError
from verifier.clients.registry import RegistryClient
from verifier.errors import (
    BundleInvalid,
    FetchError,
    IntegrityError,
    PolicyError,
    ThresholdNotMet,
    UnsafeModelPath,
    VerificationError,
)
from verifier.model import VerifiedModel, load_bundle
from verifier.signature_policies import Audit, Evidence, LoadedBundle, Policy

__all__ = ["cached_bundles", "fetch_bundles", "reason_for", "verify_signatures"]

_logger = logging.getLogger(__name__)


def fetch_bundles(
    client: RegistryClient, cache: BlobCache, repository: str, manifest_digest: str
) -> tuple[list[LoadedBundle], list[str]]:
    """Every OMS bundle referring to ``manifest_digest`` (possibly none), and their blobs."""
    try:
        referrers = client.referrers(repository, manifest_digest, BUNDLE_MEDIA_TYPE)
        bundles: list[LoadedBundle] = []
        blobs: list[str] = []
        for referrer in referrers:
            if referrer.get("artifactType") != BUNDLE_MEDIA_TYPE:
                continue
            document = client.get_manifest(repository, str(referrer.get("digest"))).json()
            subject = document.get("subject") or {}
            if subject.get("digest") != manifest_digest:
                continue  # a referrer that is not about this version proves nothing
            for layer in document.get("layers") or []:
                if layer.get("mediaType") != BUNDLE_MEDIA_TYPE:
                    continue
                data = cache.read_small(
                    client, repository, str(layer["digest"]), int(layer["size"]), MAX_BUNDLE_SIZE
                )
                bundles.append(load_bundle(data, label=f"referrer {referrer.get('digest')}"))
                blobs.append(str(layer["digest"]))
    except IntegrityError as exc:
        raise AgentError("digest", exc.diagnostics()) from exc
    except FetchError as exc:
        raise AgentError("network", exc.diagnostics()) from exc
    except BundleInvalid as exc:
        raise AgentError("format", exc.diagnostics()) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise AgentError("format", f"malformed signature referrer: {exc}") from exc
    return bundles, blobs


def cached_bundles(cache: BlobCache, blobs: Sequence[str]) -> list[LoadedBundle]:
    """The bundles recorded for a version, read back from the cache (re-verified by use)."""
    bundles = []
    for digest in blobs:
        path = cache.path(digest)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_BUNDLE_SIZE + 1)
        except OSError as exc:
            raise AgentError("offline", f"signature {digest} is not in the cache: {exc}") from exc
        try:
            bundles.append(load_bundle(data, label=f"cached signature {digest}"))
        except BundleInvalid as exc:
            raise AgentError("format", exc.diagnostics()) from exc
    return bundles


class _KnownDigests(Evidence):
    """Evidence whose files are known by their verified sha256 digests."""

    def __init__(
        self,
        bundles: Sequence[LoadedBundle],
        digests: Mapping[str, str],
        paths: Mapping[str, Path],
        scratch: Path,
    ) -> None:
        super().__init__(scratch, bundles)
        self._digests = dict(digests)
        self._paths = dict(paths)
        self._scratch = scratch
        self._linked = False

    def check_integrity(self, manifest: Manifest) -> None:
        serialization = manifest.serialization
        if serialization.method is Method.FILES and (
            serialization.hash_algorithm is HashAlgorithm.SHA256
        ):
            actual = Manifest.build(
                manifest.model_name,
                serialization,
                {n: bytes.fromhex(d.removeprefix("sha256:")) for n, d in self._digests.items()},
            )
            diff = manifest.diff(actual)
            if diff:
                raise IntegrityError(
                    f"the signed files differ from the version's: {diff.summary()}", diff
                )
            return
        if not self._linked:
            for name, path in self._paths.items():
                target = self._scratch / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)
            self._linked = True
        super().check_integrity(manifest)


def reason_for(exc: VerificationError) -> str:
    """The agent's reason code for a failure of the signature and policy checks."""
    if isinstance(exc, ThresholdNotMet):
        return "identity" if exc.verified == 0 else "policy"
    if isinstance(exc, PolicyError):
        return "policy"
    if isinstance(exc, IntegrityError | UnsafeModelPath):
        return "digest"
    if isinstance(exc, BundleInvalid):
        return "format"
    return "identity"


def verify_signatures(
    bundles: Sequence[LoadedBundle],
    policy: Policy,
    digests: Mapping[str, str],
    paths: Mapping[str, Path],
    scratch_root: Path,
) -> VerifiedModel:
    """Verify ``bundles`` over the files ``digests`` (name -> sha256) under ``policy``."""
    for name in digests:
        try:
            check_name(name, allow_single_file=False)
        except UnsafePathError as exc:
            raise AgentError("format", f"unsafe file name {name!r} in the version") from exc
    if not bundles:
        if isinstance(policy, Audit):
            _logger.warning("accepted by an audit-level rule without any OMS signature")
            return VerifiedModel(None, (), ("audit: the version has no OMS signature",))
        raise AgentError("policy", "the version has no OMS signature")
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="verify-", dir=scratch_root))
    try:
        evidence = _KnownDigests(bundles, digests, paths, scratch)
        policy.verify(evidence)
    except AgentError:
        raise
    except VerificationError as exc:
        raise AgentError(reason_for(exc), f"[{exc.check}] {exc.diagnostics()}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not evidence.accepted:
        if not evidence.findings:
            raise AgentError("policy", "the trust policy accepted no signature")
        # The operator's own rule for this namespace is audit-level: honour it, loudly.
        _logger.warning("accepted by an audit-level rule: %s", "; ".join(evidence.findings))
        return VerifiedModel(None, (), tuple(evidence.findings))
    manifest = evidence.accepted[0].manifest
    return VerifiedModel(manifest, tuple(evidence.accepted), tuple(evidence.findings))
