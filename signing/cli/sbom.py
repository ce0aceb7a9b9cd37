"""``custody sbom``: write a CycloneDX ML-BOM for a model directory or file.

Exit status: 0 written; 2 usage error (or an ``--ignore`` naming nothing in
the model); 3 the metadata given is unusable (a licence that is not SPDX, a
malformed dataset) or the output cannot be written; 8 the model tree holds
something unsafe (a link out of the tree, a special file, an ONNX
external-data location that is absolute, uses ``..`` or is not a model file);
22 a model file's header is malformed or lies (safetensors offsets, duplicate
tensor names, an unreadable ONNX file); 1 any other failure (see
``docs/exit-codes.md``). Failures print one line: ``FAILED [check]: reason``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import click

from signing.errors import IgnorePathError, ModelPathError, SigningError, UnsafePathError
from signing.exit_codes import ExitCode, fail
from signing.hashing import HashOptions
from signing.sbom.errors import BomMetadataError, ExternalDataError, ModelFileError
from signing.sbom.generate import (
    APPROACHES,
    GENERATED_SPEC_VERSIONS,
    BomMetadata,
    Dataset,
    generate_bom,
)
from signing.sign import relative_ignore_path, resolve_ignore_path

__all__ = ["COMMANDS", "sbom"]


def _source_date() -> dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` (reproducible builds) as the BOM timestamp, if set."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise click.UsageError(f"SOURCE_DATE_EPOCH={value!r} is not a Unix time") from None


def _datasets(specs: tuple[str, ...], hashes: tuple[str, ...]) -> tuple[Dataset, ...]:
    digests: dict[str, str] = {}
    for item in hashes:
        name, sep, digest = item.rpartition("=")
        if not sep or not name:
            raise click.UsageError(f"--dataset-sha256 {item!r} is not NAME=HEX")
        digests[name] = digest
    datasets = tuple(Dataset.parse(spec) for spec in specs)
    names = {d.name for d in datasets}
    for name in digests:
        if name not in names:
            raise click.UsageError(f"--dataset-sha256 names {name!r}, which no --dataset gives")
    return tuple(Dataset(d.name, d.url, digests.get(d.name)) for d in datasets)


def _write(output: Path, data: bytes) -> None:
    directory = output.parent if str(output.parent) else Path()
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.command(
    "sbom",
    epilog=(
        "Exit status: 0 written; 2 usage error (or an --ignore naming nothing in the model); "
        "3 unusable metadata or output; "
        "8 unsafe model tree or external-data location; "
        "22 a model file's header is malformed or lies; 1 other failure."
    ),
)
@click.argument("model_path", type=click.Path(path_type=Path, exists=True))
@click.option(
    "--spec-version",
    type=click.Choice(GENERATED_SPEC_VERSIONS),
    default="1.6",
    show_default=True,
    help="CycloneDX specification version to write.",
)
@click.option("--name", help="Model name (default: the directory or file name).")
@click.option("--version", "model_version", help="Model version, e.g. 1.4.0.")
@click.option("--supplier", help="Organisation that supplies the model.")
@click.option("--description", help="One-paragraph description of the model.")
@click.option(
    "--license",
    "licenses",
    multiple=True,
    help="SPDX licence id (repeatable), or one SPDX expression (LicenseRef-<name> "
    "for a licence SPDX does not list).",
)
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    metavar="NAME[@URL]",
    help="A dataset the model was trained or evaluated on (repeatable).",
)
@click.option(
    "--dataset-sha256",
    "dataset_hashes",
    multiple=True,
    metavar="NAME=HEX",
    help="SHA-256 of a dataset given with --dataset (repeatable).",
)
@click.option("--approach", type=click.Choice(APPROACHES), help="Learning approach.")
@click.option("--task", help="Task, e.g. text-to-image.")
@click.option("--architecture-family", help="Architecture family, e.g. diffusion.")
@click.option("--model-architecture", help="Specific architecture, e.g. latent diffusion U-Net.")
@click.option(
    "--input-format",
    multiple=True,
    help="Input format (repeatable; default for a single ONNX graph: its inputs).",
)
@click.option(
    "--output-format",
    multiple=True,
    help="Output format (repeatable; default for a single ONNX graph: its outputs).",
)
@click.option("--user", "users", multiple=True, help="Intended users (repeatable).")
@click.option("--use-case", "use_cases", multiple=True, help="Intended use case (repeatable).")
@click.option(
    "--limitation", "limitations", multiple=True, help="Known technical limitation (repeatable)."
)
@click.option(
    "--ignore",
    multiple=True,
    help="Path to leave out, relative to the model directory (repeatable).",
)
@click.option(
    "--ignore-git-paths/--no-ignore-git-paths",
    default=True,
    show_default=True,
    help="Leave out .git, .github, .gitattributes and .gitignore (as custody sign does).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=Path("bom.json"),
    show_default=True,
    help="Where to write the BOM ('-' for standard output).",
)
@click.option("--workers", type=click.IntRange(min=1), help="Hashing threads (default: CPUs).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (not with --output -).")
def sbom(
    model_path: Path,
    spec_version: str,
    name: str | None,
    model_version: str | None,
    supplier: str | None,
    description: str | None,
    licenses: tuple[str, ...],
    datasets: tuple[str, ...],
    dataset_hashes: tuple[str, ...],
    approach: str | None,
    task: str | None,
    architecture_family: str | None,
    model_architecture: str | None,
    input_format: tuple[str, ...],
    output_format: tuple[str, ...],
    users: tuple[str, ...],
    use_cases: tuple[str, ...],
    limitations: tuple[str, ...],
    ignore: tuple[str, ...],
    ignore_git_paths: bool,
    output: Path,
    workers: int | None,
    as_json: bool = False,
) -> None:
    """Write a CycloneDX ML-BOM for MODEL_PATH (a directory or one file), from its headers."""
    to_stdout = str(output) == "-"
    if to_stdout and as_json:
        raise click.UsageError("--json prints a summary; --output - prints the BOM itself")
    ignored: list[str] = []
    if model_path.is_dir():
        try:  # as custody sign and verify read them: from the shell's directory or the model's
            ignored = [resolve_ignore_path(model_path, item) for item in ignore]
        except IgnorePathError as exc:
            fail("ignore", exc.diagnostics(), ExitCode.USAGE)
        if not to_stdout:
            inside = relative_ignore_path(model_path, output.resolve())
            if inside is not None:
                ignored.append(inside)  # never describe the BOM inside itself
    try:
        metadata = BomMetadata(
            name=name,
            version=model_version,
            supplier=supplier,
            description=description,
            licenses=licenses,
            datasets=_datasets(datasets, dataset_hashes),
            approach=approach,
            task=task,
            architecture_family=architecture_family,
            model_architecture=model_architecture,
            input_formats=input_format,
            output_formats=output_format,
            users=users,
            use_cases=use_cases,
            limitations=limitations,
        )
        generated = generate_bom(
            model_path,
            metadata,
            spec_version=spec_version,
            ignore=ignored,
            ignore_git_paths=ignore_git_paths,
            options=HashOptions(workers=workers),
            timestamp=_source_date(),
        )
    except BomMetadataError as exc:
        fail("metadata", exc.diagnostics(), ExitCode.INPUT)
    except (ExternalDataError, UnsafePathError, ModelPathError) as exc:
        fail("paths", exc.diagnostics(), ExitCode.PATHS)
    except ModelFileError as exc:
        fail("model-file", exc.diagnostics(), ExitCode.MODEL_FORMAT)
    except SigningError as exc:
        fail("sbom", exc.diagnostics(), ExitCode.FAILURE)
    data = generated.to_bytes()
    if to_stdout:
        click.echo(data.decode("utf-8"), nl=False)
        return
    try:
        _write(output, data)
    except OSError as exc:
        fail("output", f"cannot write {output}: {exc.strerror}", ExitCode.INPUT)
    if as_json:
        summary = {
            "output": str(output),
            "spec_version": spec_version,
            "files": len(generated.files),
            "model_digest": generated.model_digest,
        }
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"wrote {output}: CycloneDX {spec_version} ML-BOM, {len(generated.files)} "
        f"file{'' if len(generated.files) == 1 else 's'}, "
        f"model sha256 {generated.model_digest}"
    )


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"sbom": sbom}
