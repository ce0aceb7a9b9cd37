"""``custody log verify``: audit a Custody transparency log from outside the hub.

Uses only ``verifier.transparency`` (never the registry's code): the checks an
auditor runs must not share a code path with what they audit.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from signing.exit_codes import fail_on
from verifier.clients.log import LogClient
from verifier.transparency.audit import (
    AuditReport,
    audit_log,
    default_state_path,
    load_state,
    save_state,
)
from verifier.transparency.errors import LogError, LogFetchError, VerifierKeyInvalid
from verifier.transparency.note import VerifierKey

__all__ = ["COMMANDS", "log"]

_EPILOG = """\b
Exit status:
  0   the checkpoint is signed by the key, consistent with the last one verified,
      and every sampled entry is included
  2   usage error
  3   input: the verifier key or the audit state file is unusable
  10  fetch: the hub could not be reached or answered with an error
  13  checkpoint: malformed, or names another log
  14  checkpoint-signature: no valid signature by the pinned key
  15  inclusion: a sampled entry's proof or leaf hash does not check out
  16  consistency / rollback: the log is not an extension of what was verified
      before (a fork, a shrink, or a bad proof)
On failure one line is printed: FAILED [check]: reason.
"""


def _read_key(value: str) -> VerifierKey:
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise VerifierKeyInvalid(f"cannot read {value[1:]!r}: {exc.strerror}") from None
    return VerifierKey.parse(text)


@click.group("log")
def log() -> None:
    """Audit a Custody transparency log (checkpoints, consistency, inclusion)."""


@log.command("verify", epilog=_EPILOG)
@click.option("--hub", required=True, help="The hub's base URL, e.g. http://127.0.0.1:8080.")
@click.option(
    "--key",
    "key_text",
    required=True,
    help="The log's verifier key <name>+<hex id>+<base64>, or @FILE holding it.",
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where the last verified checkpoint is kept (default: per key, under XDG_STATE_HOME).",
)
@click.option("--samples", type=click.IntRange(min=0), default=16, show_default=True)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Audit this many times, --interval seconds apart (watch the log grow).",
)
@click.option("--interval", type=click.FloatRange(min=0), default=30.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print each round's result as JSON.")
def verify(
    hub: str,
    key_text: str,
    state: Path | None,
    samples: int,
    rounds: int,
    interval: float,
    as_json: bool,
) -> None:
    """Check the log's signed checkpoint, its consistency with the last one verified, and a
    sample of inclusion proofs; then remember the checkpoint for the next run."""
    try:
        key = _read_key(key_text)
        state_path = state or default_state_path(key)
        with LogClient(hub) as client:
            for round_number in range(rounds):
                if round_number:
                    time.sleep(interval)
                previous = load_state(state_path, key)
                report = audit_log(client, key, previous, samples=samples)
                save_state(state_path, report.checkpoint)
                _print(report, as_json)
    except (LogError, LogFetchError) as exc:
        fail_on(exc)


def _print(report: AuditReport, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "origin": report.origin,
                    "treeSize": report.tree_size,
                    "rootHash": report.root_hash.hex(),
                    "previousSize": report.previous_size,
                    "inclusionChecked": list(report.inclusion_checked),
                }
            )
        )
        return
    since = (
        "first audit (no earlier checkpoint)"
        if report.previous_size is None
        else f"consistent with size {report.previous_size}"
    )
    click.echo(
        f"OK {report.origin}: size {report.tree_size}, root {report.root_hash.hex()}; "
        f"{since}; {len(report.inclusion_checked)} inclusion proofs verified"
    )


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"log": log}
