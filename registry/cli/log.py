"""``custody log-key``: print the transparency log's verifier key (operators pin it out of band)."""

from __future__ import annotations

from pathlib import Path

import click

from registry.errors import RegistryError
from registry.settings import Settings
from registry.tlog.signer import load_or_create_signer


@click.command("log-key")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data directory (default: $CUSTODY_DATA_DIR or ./var).",
)
def log_key(data_dir: Path | None) -> None:
    """Print the log's verifier key (<name>+<hex id>+<base64>), creating the key if needed.

    The key file is CUSTODY_TLOG_KEY (default <data dir>/keys/tlog.key); the name
    given to a new key is CUSTODY_TLOG_ORIGIN (default custody.localhost/log). With
    the default key file, the data directory must exist: a key made anywhere else
    would not be the one the registry signs with.
    """
    try:
        settings = Settings.from_env(data_dir=data_dir)
        if settings.log.key is None:
            settings = settings.located()
        signer = load_or_create_signer(settings.effective_tlog_key, settings.log.origin)
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None
    click.echo(signer.verifier_key)


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"log-key": log_key}
