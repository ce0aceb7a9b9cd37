"""``custody publish``: hash once, sign, describe, push, attach, and optionally promote.

The work is :func:`verifier.clients.publish.publish_model` (shared with the registry's
demo seeding); this module is its command line: options, the progress bar, the summary.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from custody.transfer import (
    _fail,
    count,
    json_option,
    progress_bar,
    registry_option,
    sbom_options,
    split_reference,
    token_option,
)
from signing.errors import SigningError
from verifier.clients.publish import publish_model
from verifier.clients.push import PushClient
from verifier.clients.registry import FetchError
from verifier.errors import VerificationError

__all__ = ["COMMANDS", "publish"]


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
                progress=None if as_json else progress_bar,
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
