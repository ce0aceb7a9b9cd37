"""``custody pull --verify --policy trust.yaml``: nothing lands in DIR before the signature holds.

The version is downloaded (every blob checked against its digest) into a
private staging directory beside DIR, on the same file system. The version's
OMS signature referrers are fetched, and the bundles are verified against the
namespace's rule of the local trust policy over the staged bytes: the exact
file set and every file's digest. Only then are the files moved into DIR, one
rename each. A refusal removes the staging directory: DIR is left as it was.

File modes: the layers of a ModelPack artifact carry no file mode, so pulled
files are created as any download is, ``0666`` less the umask (``0644`` under
the usual ``022``), as ``oras pull`` and ``git checkout`` create them;
directories likewise ``0777`` less the umask. Files from tar layers keep the
archive's modes less group and other write (the ``data`` extraction filter).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signing.oms import BUNDLE_MEDIA_TYPE, MAX_BUNDLE_SIZE
from verifier.clients.registry import RegistryClient
from verifier.errors import BundleInvalid, PolicyError
from verifier.model import load_bundle
from verifier.signature_policies import Evidence, LoadedBundle, Policy

__all__ = ["fetch_signatures", "verified_pull"]

Pull = Callable[[RegistryClient, str, str, Path], dict[str, Any]]


def fetch_signatures(
    client: RegistryClient, repository: str, digest: str, scratch: Path
) -> list[LoadedBundle]:
    """Every OMS bundle whose referrer names ``digest`` as its subject (possibly none)."""
    bundles: list[LoadedBundle] = []
    for referrer in client.referrers(repository, digest, BUNDLE_MEDIA_TYPE):
        if referrer.get("artifactType") != BUNDLE_MEDIA_TYPE:
            continue
        document = client.get_manifest(repository, str(referrer.get("digest"))).json()
        if (document.get("subject") or {}).get("digest") != digest:
            continue  # a referrer about another manifest proves nothing about this one
        for layer in document.get("layers") or []:
            if layer.get("mediaType") != BUNDLE_MEDIA_TYPE:
                continue
            size = int(layer.get("size", 0))
            if size > MAX_BUNDLE_SIZE:
                raise BundleInvalid(f"signature {layer.get('digest')} is {size} bytes: too large")
            target = scratch / f"bundle-{len(bundles)}"
            client.download_blob(repository, str(layer["digest"]), target, size=size)
            bundles.append(
                load_bundle(target.read_bytes(), label=f"signature {referrer.get('digest')}")
            )
    return bundles


def _move_into(staged: Path, destination: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    if not destination.exists():
        staged.chmod(0o777 & ~umask)  # mkdtemp made it 0700
        staged.rename(destination)
        return
    for path in sorted(staged.rglob("*")):
        target = destination / path.relative_to(staged)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            path.replace(target)


def verified_pull(
    client: RegistryClient,
    repository: str,
    reference: str,
    destination: Path,
    policy: Policy,
    pull: Pull,
) -> dict[str, Any]:
    """Pull into a staging directory, verify the signatures under ``policy``, then move in.

    Raises :class:`~verifier.errors.VerificationError` (a refusal) or
    :class:`OSError`; DIR is untouched then.
    """
    parent = destination.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.custody-pull-", dir=parent))
    try:
        staged = staging / "model"
        summary = pull(client, repository, reference, staged)
        bundles = fetch_signatures(client, repository, summary["digest"], staging)
        if not bundles:
            raise PolicyError(f"{repository}@{summary['digest']} has no OMS signature")
        evidence = Evidence(staged, bundles)
        policy.verify(evidence)
        signers = [str(s.identity) for s in evidence.accepted]
        if not evidence.accepted and not evidence.findings:
            raise PolicyError("the trust policy accepted no signature")
        _move_into(staged, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary["verified"] = bool(evidence.accepted)
    summary["signers"] = signers
    summary["findings"] = list(evidence.findings)
    return summary
