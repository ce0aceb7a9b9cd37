"""``custody publish``: hash once, sign, describe, push, attach, and optionally promote.

One pass over the model's bytes gives the per-file sha256 manifest that the OMS
signature signs, the ML-BOM describes and the push uploads (only the blobs the
registry lacks; large files in resumable chunks). The signature is attached as
an OCI referrer of the version, exactly as oras or cosign would attach one, so
the registry verifies it the same way whoever pushed it. Re-running after an
interruption resumes: present blobs are skipped, a partly uploaded file
continues where it stopped, and an existing identical version is reused.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from custody.push import PushClient
from custody.transfer import (
    TITLE,
    _fail,
    attach_sbom,
    count,
    json_option,
    push_model,
    registry_option,
    sbom_options,
    split_reference,
    token_option,
)
from signing.digests import Digest
from signing.errors import SigningError
from signing.hashing import hash_model
from signing.manifest import DEFAULT_IGNORED_PATHS, Serialization
from signing.media_types import OCI_EMPTY, OCI_MANIFEST, SIGSTORE_BUNDLE
from signing.sign import sign_manifest
from signing.signers import load_signer
from verifier.clients.registry import FetchError
from verifier.errors import VerificationError

__all__ = ["COMMANDS", "SIGSTORE_BUNDLE", "publish", "publish_model", "signature_manifest"]


def _push_bytes(client: PushClient, repository: str, data: bytes) -> str:
    digest = str(Digest.of_bytes(data))
    if not client.blob_exists(repository, digest):
        with tempfile.TemporaryDirectory(prefix="custody-publish-") as tmp:
            path = Path(tmp) / "blob"
            path.write_bytes(data)
            client.upload_blob(repository, path, digest, len(data))
    return digest


def signature_manifest(
    bundle_digest: str, bundle_size: int, subject: tuple[str, int], created: datetime
) -> bytes:
    """An OCI referrer carrying one OMS bundle for the version ``subject`` (digest, size)."""
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIGSTORE_BUNDLE,
        "config": {"mediaType": OCI_EMPTY, "digest": str(Digest.of_bytes(b"{}")), "size": 2},
        "layers": [
            {
                "mediaType": SIGSTORE_BUNDLE,
                "digest": bundle_digest,
                "size": bundle_size,
                "annotations": {TITLE: "model.sig"},
            }
        ],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject[0], "size": subject[1]},
        "annotations": {"org.opencontainers.image.created": created.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def publish_model(
    client: PushClient,
    model_dir: Path,
    repository: str,
    version: str,
    *,
    key: str,
    sbom: bytes | None = None,
    sbom_from_files: bool = False,
    alias: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Publish ``model_dir`` as ``repository:version``; return a summary."""
    if not model_dir.is_dir():
        raise FetchError(f"{model_dir} is not a model directory")
    signer = load_signer(key)
    manifest = hash_model(model_dir, Serialization().with_ignored(DEFAULT_IGNORED_PATHS))
    bundle = sign_manifest(manifest, signer).to_bytes()
    if sbom_from_files:
        from signing.sbom import BomMetadata, generate_bom

        metadata = BomMetadata(name=repository.split("/")[-1], version=version)
        sbom = generate_bom(model_dir, metadata, manifest=manifest).to_bytes()

    summary = push_model(
        client, model_dir, repository, version, progress=progress, manifest=manifest
    )
    subject = (str(summary["digest"]), int(summary["manifest_size"]))

    bundle_digest = _push_bytes(client, repository, bundle)
    _push_bytes(client, repository, b"{}")
    referrer = signature_manifest(bundle_digest, len(bundle), subject, datetime.now(UTC))
    summary["signature"] = client.put_manifest(repository, str(Digest.of_bytes(referrer)), referrer)
    namespace, model = repository.split("/", 1)
    if sbom is not None:
        summary["sbom"] = attach_sbom(client, repository, version, sbom)
    view = client.api("GET", f"/api/v1/models/{namespace}/{model}/versions/{version}")
    summary["verification"] = [
        {k: s[k] for k in ("signature", "outcome", "signer", "failed_check", "reason")}
        for s in view.get("signatures", [])
        if s["signature"] == summary["signature"]
    ]
    if alias:
        client.api(
            "PUT",
            f"/api/v1/models/{namespace}/{model}/aliases/{alias}",
            json={"version": version},
        )
        summary["alias"] = alias
    return summary


@click.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("reference")
@click.option("--key", required=True, help="Signing key (PEM file path or a scheme:reference).")
@registry_option
@token_option
@click.option("--alias", default=None, help="Then move this alias to the version (policy-checked).")
@sbom_options
@click.option(
    "--no-sbom", is_flag=True, help="Attach no ML-BOM (by default one is built from the files)."
)
@json_option
def publish(
    model_dir: Path,
    reference: str,
    key: str,
    registry: str,
    token: str | None,
    alias: str | None,
    sbom_path: Path | None,
    sbom_from_files: bool,
    no_sbom: bool,
    as_json: bool,
) -> None:
    """Sign MODEL_DIR, push it as REPO:VERSION with its signature and ML-BOM, verified by the
    registry. The ML-BOM is built from the files' headers unless --sbom or --no-sbom is given."""
    repository, version = split_reference(reference)
    if sum([sbom_path is not None, sbom_from_files, no_sbom]) > 1:
        raise click.UsageError("give one of --sbom, --sbom-from-files or --no-sbom")
    try:
        sbom = sbom_path.read_bytes() if sbom_path is not None else None
        with PushClient(registry, token) as client:
            summary = publish_model(
                client,
                model_dir,
                repository,
                version,
                key=os.fspath(key),
                sbom=sbom,
                sbom_from_files=sbom is None and not no_sbom,
                alias=alias,
                progress=not as_json,
            )
    except (FetchError, VerificationError, SigningError, OSError) as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(summary))
        return
    verdicts = summary["verification"]
    verdict = verdicts[0] if verdicts else {"outcome": "unknown", "reason": ""}
    click.echo(
        f"published {repository}:{version} {summary['digest']} "
        f"({count(summary['files'], 'file')}, {summary['uploaded']} uploaded, "
        f"{summary['skipped']} already there); signature {verdict['outcome']}"
        + (f": {verdict['reason']}" if verdict["outcome"] != "verified" else "")
        + ("; ML-BOM attached" if "sbom" in summary else "; no ML-BOM")
        + (f"; {summary['alias']} -> {version}" if "alias" in summary else "")
    )


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"publish": publish}
