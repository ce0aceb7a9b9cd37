"""``custody push``, ``pull``, ``ls`` and ``alias``: release engineers' registry commands.

``push`` hashes the model directory once with the shared hashing engine, uploads
only the blobs the registry lacks (large files in resumable chunks), and writes
a CNCF ModelPack manifest tagged with the version. ``pull`` downloads every
layer, verifying each digest before the file appears, and never writes outside
the destination directory.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import click

from custody.push import PushClient
from signing.digests import Digest
from signing.errors import SigningError
from signing.exit_codes import ExitCode, fail, fail_on
from signing.hashing import hash_model
from signing.manifest import Manifest
from signing.media_types import (
    CYCLONEDX_JSON,
    MODEL_ARTIFACT,
    MODEL_CONFIG,
    OCI_MANIFEST,
    model_layer,
)
from verifier.clients.registry import FetchError, RegistryClient
from verifier.errors import VerificationError

TITLE = "org.opencontainers.image.title"
FILEPATH = "org.cncf.model.filepath"
_WEIGHTS = (".safetensors", ".onnx", ".gguf", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5")
_DOCS = (".md", ".txt", ".rst", ".pdf")
_CODE = (".py", ".sh", ".ipynb")

registry_option = click.option(
    "--registry",
    envvar="CUSTODY_REGISTRY",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="Registry URL ($CUSTODY_REGISTRY).",
)
token_option = click.option(
    "--token", envvar="CUSTODY_TOKEN", help="Custody token ($CUSTODY_TOKEN)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON summary.")


def sbom_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--sbom FILE`` or ``--sbom-from-files``: the ML-BOM attached to a pushed version."""
    command = click.option(
        "--sbom-from-files", is_flag=True, help="Generate the ML-BOM from the files' headers."
    )(command)
    return click.option(
        "--sbom",
        "sbom_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Attach this CycloneDX JSON ML-BOM to the version.",
    )(command)


def layer_media_type(name: str) -> str:
    """The ModelPack layer type for a file, by its name."""
    lowered = name.lower()
    base = PurePosixPath(lowered).name
    if lowered.endswith(_WEIGHTS):
        kind = "weight"
    elif lowered.endswith(_DOCS) or base.startswith(("readme", "license", "licence")):
        kind = "doc"
    elif lowered.endswith(_CODE):
        kind = "code"
    else:
        kind = "weight.config"
    return model_layer(kind)


def split_reference(text: str) -> tuple[str, str]:
    """``acme/model:1.0.0`` or ``acme/model@sha256:...`` -> (repository, reference)."""
    if "@" in text:
        repository, _, digest = text.partition("@")
        return repository, digest
    repository, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        raise click.BadParameter(f"{text!r} needs a :TAG or @DIGEST", param_hint="REFERENCE")
    return repository, tag


def count(number: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, (FetchError, VerificationError, SigningError)):
        return click.ClickException(exc.diagnostics())
    return click.ClickException(str(exc))


@contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int], None]]:
    if not enabled or not sys.stderr.isatty():
        yield lambda _n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _state_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "custody" / "uploads"


def build_config(
    model: str, version: str, formats: list[str], diff_ids: list[str]
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if formats:
        config["format"] = max(set(formats), key=formats.count)
    return {
        "descriptor": {
            "name": model,
            "version": version,
            "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "config": config,
        "modelfs": {"type": "layers", "diffIds": diff_ids},
    }


def existing_version(
    client: RegistryClient, repository: str, version: str, manifest: Manifest
) -> tuple[str, int] | None:
    """The version's (digest, size) if it already holds exactly these files (a re-run).

    Versions are immutable: the same files again are the same version (a re-run of an
    interrupted push, or a push that only attaches an ML-BOM); other files are refused.
    """
    if version not in _tags(client, repository):
        return None
    fetched = client.get_manifest(repository, version)
    layers = {
        (layer.get("annotations", {}).get(TITLE), layer.get("digest"))
        for layer in fetched.json().get("layers", [])
    }
    ours = {(r.name, "sha256:" + r.hex) for r in manifest.resources}
    if layers != ours:
        raise FetchError(
            f"{repository}:{version} already exists with other files; versions are immutable, "
            "push a new version"
        )
    return fetched.digest, len(fetched.body)


def _tags(client: RegistryClient, repository: str) -> list[str]:
    try:
        return client.list_tags(repository)
    except FetchError as exc:
        if exc.status == 404:
            return []  # a new repository
        raise


def push_model(
    client: PushClient,
    model_dir: Path,
    repository: str,
    version: str,
    *,
    progress: bool = False,
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    """Push a model directory (or one file) as a ModelPack artifact; return a summary.

    ``manifest`` is the directory's per-file sha256 manifest when the caller
    already hashed it (``custody publish`` hashes once for signature, SBOM and push).
    """
    manifest = manifest or hash_model(model_dir)
    root = model_dir if model_dir.is_dir() else model_dir.parent
    files = []
    for resource in manifest.resources:
        name = resource.name if model_dir.is_dir() else model_dir.name
        path = root / name
        files.append((name, path, "sha256:" + resource.hex, path.stat().st_size))
    total = sum(f[3] for f in files)
    existing = existing_version(client, repository, version, manifest)
    if existing is not None:
        return {
            "repository": repository,
            "version": version,
            "digest": existing[0],
            "manifest_size": existing[1],
            "files": len(files),
            "bytes": total,
            "uploaded": 0,
            "skipped": len(files),
            "existing": True,
        }
    uploaded = skipped = 0
    layers: list[dict[str, Any]] = []
    with _progress(total, f"push {repository}:{version}", progress) as advance:
        for name, path, digest, size in files:
            if client.blob_exists(repository, digest):
                skipped += 1
                advance(size)
            else:
                client.upload_blob(
                    repository, path, digest, size, state_dir=_state_dir(), progress=advance
                )
                uploaded += 1
            layers.append(
                {
                    "mediaType": layer_media_type(name),
                    "digest": digest,
                    "size": size,
                    "annotations": {TITLE: name, FILEPATH: name},
                }
            )
    formats = [n.rsplit(".", 1)[-1] for n, *_ in files if n.endswith((".safetensors", ".onnx"))]
    config_bytes = json.dumps(
        build_config(
            repository.split("/")[-1], version, formats, [lay["digest"] for lay in layers]
        ),
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    config_digest = str(Digest.of_bytes(config_bytes))
    if not client.blob_exists(repository, config_digest):
        tmp = _state_dir() / f"config-{config_digest[7:]}.json"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(config_bytes)
        try:
            client.upload_blob(repository, tmp, config_digest, len(config_bytes))
        finally:
            tmp.unlink(missing_ok=True)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": MODEL_ARTIFACT,
        "config": {"mediaType": MODEL_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layers,
        "annotations": {"org.opencontainers.image.version": version},
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    digest = client.put_manifest(repository, version, body)
    return {
        "repository": repository,
        "version": version,
        "digest": digest,
        "manifest_size": len(body),
        "existing": False,
        "files": len(files),
        "bytes": total,
        "uploaded": uploaded,
        "skipped": skipped,
    }


def attach_sbom(client: RegistryClient, repository: str, version: str, bom: bytes) -> str:
    """Attach a CycloneDX ML-BOM to a version (the registry validates and binds it)."""
    namespace, model = repository.split("/", 1)
    attached = client.api(
        "POST",
        f"/api/v1/models/{namespace}/{model}/versions/{version}/sbom",
        content=bom,
        headers={"Content-Type": CYCLONEDX_JSON},
    )
    return str(attached["sbom_digest"])


def _sbom_bytes(
    model_dir: Path, repository: str, version: str, path: Path | None, from_files: bool
) -> bytes | None:
    if path is not None:
        return path.read_bytes()
    if not from_files:
        return None
    from signing.sbom import BomMetadata, generate_bom

    metadata = BomMetadata(name=repository.split("/")[-1], version=version)
    return generate_bom(model_dir, metadata).to_bytes()


def _safe_destination(root: Path, name: str) -> Path:
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts or "\\" in name:
        raise click.ClickException(f"refusing layer path {name!r}: it would leave {root}")
    return root.joinpath(*relative.parts)


def pull_model(
    client: RegistryClient, repository: str, reference: str, destination: Path, *, progress: bool
) -> dict[str, Any]:
    fetched = client.get_manifest(repository, reference)
    document = fetched.json()
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise click.ClickException(f"{repository}:{reference} is not an image manifest")
    destination.mkdir(parents=True, exist_ok=True)
    total = sum(int(layer.get("size", 0)) for layer in layers)
    written = []
    with _progress(total, f"pull {repository}:{reference}", progress) as advance:
        for index, layer in enumerate(layers):
            annotations = layer.get("annotations") or {}
            name = annotations.get(FILEPATH) or annotations.get(TITLE) or f"layer-{index}"
            media_type = str(layer.get("mediaType", ""))
            target = _safe_destination(destination, name)
            if ".tar" in media_type:
                archive = destination / f".layer-{index}.tar"
                client.download_blob(
                    repository, layer["digest"], archive, size=layer.get("size"), progress=advance
                )
                _extract(archive, destination, media_type)
                archive.unlink()
            else:
                client.download_blob(
                    repository, layer["digest"], target, size=layer.get("size"), progress=advance
                )
            written.append(name)
    return {
        "repository": repository,
        "reference": reference,
        "digest": fetched.digest,
        "files": written,
    }


def _extract(archive: Path, destination: Path, media_type: str) -> None:
    if media_type.endswith("+zstd"):
        raise click.ClickException("zstd-compressed tar layers are not supported by custody pull")
    mode = "r:gz" if media_type.endswith("+gzip") else "r:"
    with tarfile.open(archive, mode) as tar:  # type: ignore[call-overload]
        tar.extractall(destination, filter="data")  # refuses links and paths that escape


@click.command()
@click.argument("model_dir", type=click.Path(exists=True, path_type=Path))
@click.argument("reference")
@registry_option
@token_option
@click.option("--alias", default=None, help="Also move this alias to the new version.")
@sbom_options
@json_option
def push(
    model_dir: Path,
    reference: str,
    registry: str,
    token: str | None,
    alias: str | None,
    sbom_path: Path | None,
    sbom_from_files: bool,
    as_json: bool,
) -> None:
    """Push MODEL_DIR as REPO:VERSION (a CNCF ModelPack artifact)."""
    repository, version = split_reference(reference)
    if sbom_path is not None and sbom_from_files:
        raise click.UsageError("give --sbom or --sbom-from-files, not both")
    try:
        with PushClient(registry, token) as client:
            summary = push_model(client, model_dir, repository, version, progress=not as_json)
            bom = _sbom_bytes(model_dir, repository, version, sbom_path, sbom_from_files)
            if bom is not None:
                summary["sbom"] = attach_sbom(client, repository, version, bom)
            if alias:
                namespace, model = repository.split("/", 1)
                client.api(
                    "PUT",
                    f"/api/v1/models/{namespace}/{model}/aliases/{alias}",
                    json={"version": version},
                )
                summary["alias"] = alias
    except (FetchError, VerificationError, SigningError, OSError) as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(summary))
    else:
        verb = "exists:" if summary["existing"] else "pushed"
        attached = "; ML-BOM attached" if "sbom" in summary else ""
        click.echo(
            f"{verb} {repository}:{version} {summary['digest']} "
            f"({count(summary['files'], 'file')}, {summary['uploaded']} uploaded, "
            f"{summary['skipped']} already there){attached}"
        )


def newest_version(client: RegistryClient, repository: str) -> str:
    """The version ``custody ls`` shows as ``latest=``: the one pushed last.

    A registry without Custody's lifecycle API (any other OCI registry) gets the
    conventional tag ``latest``.
    """
    namespace, _, model = repository.partition("/")
    path = f"/api/v1/models/{namespace}/{model}/versions"
    try:
        total = int(client.api("GET", path, params={"limit": 1})["page"]["total"])
    except FetchError as exc:
        if exc.status == 404:
            return "latest"
        raise
    if total == 0:
        raise FetchError(f"{repository} has no versions yet")
    page = client.api("GET", path, params={"limit": 1, "offset": total - 1})
    return str(page["versions"][0]["version"])


@click.command()
@click.argument("reference", metavar="REPO[:TAG|@DIGEST]")
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
@registry_option
@token_option
@click.option(
    "--verify",
    "verify_signature",
    is_flag=True,
    help="Verify the version's OMS signature(s) against --policy before writing anything.",
)
@click.option(
    "--policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust policy file (YAML); the rule of the repository's namespace applies.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary.")
def pull(
    reference: str,
    destination: Path,
    registry: str,
    token: str | None,
    verify_signature: bool,
    policy: Path | None,
    as_json: bool,
) -> None:
    """Pull REPO:TAG or REPO@DIGEST into DESTINATION, verifying every digest.

    Without a tag, the newest version (the one 'custody ls' shows as latest=).
    With --verify --policy, the signature is verified first; refused, nothing is written.
    """
    if verify_signature != (policy is not None):
        raise click.UsageError("--verify and --policy go together")
    bare = ":" not in reference.rpartition("/")[2] and "@" not in reference
    repository, ref = (reference, "") if bare else split_reference(reference)
    rule = None
    try:
        if policy is not None:
            from verifier.trust_policy_file import load_trust_policy

            rule = load_trust_policy(policy).policy_for(repository.partition("/")[0])
        with RegistryClient(registry, token) as client:
            ref = ref or newest_version(client, repository)
            if rule is None:
                summary = pull_model(client, repository, ref, destination, progress=not as_json)
            else:
                from custody.verified_pull import verified_pull

                summary = verified_pull(
                    client,
                    repository,
                    ref,
                    destination,
                    rule,
                    lambda c, r, t, d: pull_model(c, r, t, d, progress=not as_json),
                )
    except (FetchError, VerificationError, SigningError) as exc:
        if not verify_signature:
            raise _fail(exc) from None
        if isinstance(exc, SigningError):
            fail("sign", exc.diagnostics(), ExitCode.FAILURE)
        fail_on(exc)
    except OSError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(summary))
        return
    verdict = ""
    if rule is not None:
        signers = "; ".join(summary["signers"]) or "nobody (audit-level rule)"
        verdict = f", signature verified: {signers}"
    click.echo(
        f"pulled {repository}:{ref} {summary['digest']} into {destination} "
        f"({count(len(summary['files']), 'file')}{verdict})"
    )
    for finding in summary.get("findings", []):
        click.echo(f"WARNING {finding}", err=True)


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"push": push, "pull": pull}
