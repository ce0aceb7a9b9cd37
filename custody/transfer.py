"""``custody push``, ``pull``, ``ls`` and ``alias``: release engineers' registry commands.

``push`` hashes the model directory once with the shared hashing engine, uploads
only the blobs the registry lacks (large files in resumable chunks), and writes
a CNCF ModelPack manifest tagged with the version. ``pull`` downloads every
layer, verifying each digest before the file appears, and never writes outside
the destination directory.
"""

from __future__ import annotations

import json
import sys
import tarfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import click

from signing.errors import SigningError
from signing.exit_codes import ExitCode, fail, fail_on
from verifier.clients.publish import FILEPATH, TITLE, attach_sbom, push_model
from verifier.clients.push import PushClient
from verifier.clients.registry import FetchError, RegistryClient
from verifier.errors import VerificationError

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


def progress_bar(total: int, label: str) -> AbstractContextManager[Callable[[int], None]]:
    """A progress bar on standard error when it is a terminal (``push``, ``publish``)."""
    return _progress(total, label, True)


@contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int], None]]:
    if not enabled or not sys.stderr.isatty():
        yield lambda _n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


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
            summary = push_model(
                client,
                model_dir,
                repository,
                version,
                progress=None if as_json else progress_bar,
            )
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
