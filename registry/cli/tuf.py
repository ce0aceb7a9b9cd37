"""``custody tuf``: initialise the registry's TUF repository, rotate keys, re-sign.

Every command works on the database and key directory of the registry's settings
(``CUSTODY_DATABASE_URL``, ``CUSTODY_DATA_DIR``, ``CUSTODY_TUF_KEYS_DIR``), prints
one line per result, and on bad input prints one error line and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import click
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]
from sqlalchemy.ext.asyncio import AsyncSession

from registry.cli.support import _data_dir_option, _located, _require_database, _run_db, _settings
from registry.errors import RegistryError
from registry.naming import validate_namespace
from registry.tuf import admin
from registry.tuf.admin import Outcome
from registry.tuf.publisher import Publisher
from registry.tuf.service import publisher_for


def _publisher(data_dir: Path | None) -> tuple[Publisher, Callable[..., object]]:
    settings = _settings(data_dir)
    if settings.tuf.keys_dir is None:  # the keys live under the data directory
        settings = _located(settings)
    _require_database(settings)  # before the key store, which creates its directory
    try:
        publisher = publisher_for(settings)
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None

    def run(work: Callable[[AsyncSession], Awaitable[object]]) -> object:
        return _run_db(settings, work)

    return publisher, run


def _report(outcome: Outcome, publisher: Publisher, what: str) -> None:
    publisher.keys.retire(outcome.retired)
    publisher.root_keys.retire(outcome.retired)
    published = ", ".join(f"{r} v{v}" for r, v in sorted(outcome.publication.published.items()))
    click.echo(f"{what}: root v{outcome.root_version}; published {published or 'nothing new'}")
    if outcome.retired:
        click.echo(f"retired keys: {', '.join(outcome.retired)}", err=True)
    if outcome.publication.failures:
        lines = "; ".join(f"{r}: {why}" for r, why in sorted(outcome.publication.failures.items()))
        raise click.ClickException(f"some roles could not be published: {lines}")


def _write_root(data: bytes, output: Path | None) -> None:
    if output is None:
        click.echo(data.decode())
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None


@click.group()
def tuf() -> None:
    """The registry's TUF repository (metadata for python-tuf clients under /tuf/)."""


@tuf.command("init")
@click.option(
    "--root-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write root.json (the clients' trust root) here.",
)
@_data_dir_option
def init(root_out: Path | None, data_dir: Path | None) -> None:
    """Create the root, online and namespace keys and publish the first metadata."""
    publisher, run = _publisher(data_dir)
    outcome = run(lambda session: admin.initialise(session, publisher))
    assert isinstance(outcome, Outcome)
    _report(outcome, publisher, "initialised")
    _warn_if_root_key_online(publisher)
    if root_out is not None:
        root = run(admin.latest_root)
        assert isinstance(root, bytes)
        _write_root(root, root_out)


def _warn_if_root_key_online(publisher: Publisher) -> None:
    """The root key signs every other key: beside the online keys it is as exposed as they are."""
    if publisher.root_keys.directory.resolve() != publisher.keys.directory.resolve():
        return
    click.echo(
        f"warning: the root key was written to {publisher.root_keys.directory} beside the "
        "online keys the server signs with. Move it to offline media and point "
        "CUSTODY_TUF_ROOT_KEYS_DIR there when you run 'custody tuf rotate-root' or "
        "'custody tuf resign --root' (the server never reads it); set CUSTODY_TUF_ROOT_KEYS_DIR "
        "before 'custody tuf init' to write it there in the first place.",
        err=True,
    )


@tuf.command("export-root")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@_data_dir_option
def export_root(output: Path | None, data_dir: Path | None) -> None:
    """Print the newest root.json (give it to clients as their trust root)."""
    _publisher_unused, run = _publisher(data_dir)
    root = run(admin.latest_root)
    assert isinstance(root, bytes)
    _write_root(root, output)


@tuf.command("rotate-root")
@_data_dir_option
def rotate_root(data_dir: Path | None) -> None:
    """Replace the root key (root N+1 is signed by the old and the new key)."""
    publisher, run = _publisher(data_dir)
    outcome = run(lambda session: admin.rotate_root(session, publisher))
    assert isinstance(outcome, Outcome)
    _report(outcome, publisher, "root key rotated")


@tuf.command("rotate-online")
@_data_dir_option
def rotate_online(data_dir: Path | None) -> None:
    """Replace the online key of targets, snapshot and timestamp, and re-sign them."""
    publisher, run = _publisher(data_dir)
    outcome = run(lambda session: admin.rotate_online(session, publisher))
    assert isinstance(outcome, Outcome)
    _report(outcome, publisher, "online key rotated")


def _namespace(value: str) -> str:
    try:
        return validate_namespace(value)
    except RegistryError as exc:
        raise click.BadParameter(exc.detail) from None


@tuf.command("namespace-keys")
@click.argument("namespace")
@click.option(
    "--key",
    "key_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A private key (PEM, PKCS#8, unencrypted) the registry signs with; repeatable.",
)
@click.option("--generate", type=int, default=0, help="Also generate this many new keys.")
@click.option("--threshold", type=int, required=True, help="Signatures required (k of n).")
@_data_dir_option
def namespace_keys(
    namespace: str,
    key_files: tuple[Path, ...],
    generate: int,
    threshold: int,
    data_dir: Path | None,
) -> None:
    """Set the keys and threshold of NAMESPACE's delegated role."""
    namespace = _namespace(namespace)
    if generate < 0:
        raise click.BadParameter("must not be negative", param_hint="--generate")
    if not key_files and not generate:
        raise click.UsageError("give at least one --key or --generate N")
    publisher, run = _publisher(data_dir)
    keys: list[SSlibKey] = []
    try:
        for path in key_files:
            keys.append(publisher.keys.import_private_pem(path.read_bytes()))
    except RegistryError as exc:
        raise click.ClickException(f"{path}: {exc.detail}") from None
    keys += [publisher.keys.generate() for _ in range(generate)]
    outcome = run(
        lambda session: admin.set_namespace_keys(session, publisher, namespace, keys, threshold)
    )
    assert isinstance(outcome, Outcome)
    _report(outcome, publisher, f"{namespace}: {threshold} of {len({k.keyid for k in keys})} keys")


@tuf.command("rotate-namespace")
@click.argument("namespace")
@_data_dir_option
def rotate_namespace(namespace: str, data_dir: Path | None) -> None:
    """Replace NAMESPACE's keys with fresh registry-held ones (same count and threshold)."""
    namespace = _namespace(namespace)
    publisher, run = _publisher(data_dir)
    outcome = run(lambda session: admin.rotate_namespace(session, publisher, namespace))
    assert isinstance(outcome, Outcome)
    _report(outcome, publisher, f"{namespace}: keys rotated")


@tuf.command("resign")
@click.option("--root", "include_root", is_flag=True, help="Also re-sign root (new version).")
@_data_dir_option
def resign(include_root: bool, data_dir: Path | None) -> None:
    """Publish new versions of every role the registry signs (e.g. after a long outage)."""
    publisher, run = _publisher(data_dir)
    outcome = run(lambda session: admin.resign(session, publisher, include_root=include_root))
    assert isinstance(outcome, Outcome)
    _report(outcome, publisher, "re-signed")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"tuf": tuf}
