"""``custody output verify|register`` and ``custody reprint``: creators' reprint-hub commands.

``output verify`` checks an image offline (its output manifest and latent chain
against a reprint policy, or its C2PA credentials against a trust list) and/or
online (``--hub``: the attribution the hub holds, its log receipt verified).
``reprint`` asks a hub to reprint an image and keeps the hub-signed attribution
statement once its signature and both log receipts verify. Pin the keys
(``--log-key``, ``--hub-key``); otherwise they are fetched from the hub and the
output says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from signing.cli.provenance import read_chain
from signing.digests import Digest
from signing.exit_codes import ExitCode, fail, fail_on
from verifier.cli.provenance import output_verify_options, verify_output_offline
from verifier.clients.hub import HubClient
from verifier.clients.registry import FetchError
from verifier.errors import VerificationError

__all__ = ["COMMANDS", "output_verify", "register", "reprint"]

_EPILOG = """\b
Exit status:
  0  every check holds
  2  usage error
  3-9  an offline check failed (as for custody verify; the line names the check)
  10 fetch: the hub or the log could not be reached
  11 refused: the hub refused (not registered, terms forbid the reprint, bad input)
  12 hub: the hub's attribution does not verify
  13-17 a log check failed (checkpoint, its signature, inclusion, receipt)
On failure one line is printed: FAILED [check]: reason.
"""

hub_option = click.option("--hub", envvar="CUSTODY_HUB", help="Reprint hub URL ($CUSTODY_HUB).")
token_option = click.option(
    "--token", envvar="CUSTODY_TOKEN", help="Custody token ($CUSTODY_TOKEN)."
)
log_key_option = click.option(
    "--log-key",
    envvar="CUSTODY_LOG_KEY",
    help="The log's verifier key (C2SP note key text) to pin ($CUSTODY_LOG_KEY).",
)
hub_key_option = click.option(
    "--hub-key",
    envvar="CUSTODY_HUB_KEY_FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM public key of the hub, pinned ($CUSTODY_HUB_KEY_FILE).",
)
_IMAGE = click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _mime(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return "application/octet-stream"


def _client(hub: str, token: str | None, log_key: str | None, hub_key: Path | None) -> HubClient:
    pem = hub_key.read_bytes() if hub_key is not None else None
    return HubClient(hub, token, log_key=log_key, hub_key_pem=pem)


def _unpinned_note(pinned: bool) -> None:
    if not pinned:
        click.echo(
            "note: keys were fetched from the hub, not pinned (--log-key, --hub-key)", err=True
        )


@click.command("verify", epilog=_EPILOG)
@output_verify_options
@hub_option
@log_key_option
def output_verify(hub: str | None, log_key: str | None, **offline: Any) -> None:
    """Verify IMAGE offline (as below) and/or online with --hub: the attribution the hub
    holds for these exact bytes, its log receipt verified against the log key.

    Offline: its output manifest and latent chain (--latents/--policy/--repository),
    and/or its C2PA credentials (--c2pa --trust-anchors; with --policy/--repository,
    the output manifest inside them too, chain or not as the policy says).
    """
    offline_given = offline.get("latents") is not None or offline.get("check_c2pa")
    if not offline_given and hub is None:
        raise click.UsageError("give --hub, or --latents/--policy/--repository, or --c2pa")
    if offline_given:
        verify_output_offline(**offline)  # exits with its own status on failure
    if hub is None:
        return
    image: Path = offline["image"]
    try:
        digest = str(Digest.of_file(image))
        with HubClient(hub, log_key=log_key) as client:
            attribution = client.attribution(digest)
    except OSError as exc:
        fail("input", f"cannot read {str(image)!r}: {exc.strerror}", ExitCode.INPUT)
    except (VerificationError, FetchError) as exc:
        fail_on(exc)
    _unpinned_note(log_key is not None)
    view = attribution.view
    if offline.get("as_json"):
        click.echo(json.dumps({"hub": view | {"receipt_verified": True}}, indent=2))
        return
    verified_text = "verifies" if view["model"]["signature_verified"] else "DOES NOT verify"
    click.echo(f"OK hub: {digest} registered at log index {view['log_index']} (receipt verified)")
    click.echo(f"  creator: {view['creator']}")
    click.echo(f"  model: {view['model']['reference']} (signature {verified_text} today)")
    click.echo(f"  licence: {view['license']}; terms: {', '.join(view['terms']) or '-'}")
    click.echo(f"  first registered: {view['first_registered_at']}")
    click.echo(f"  reprints: {len(view['reprints'])}")


@click.command(epilog=_EPILOG)
@_IMAGE
@hub_option
@token_option
@log_key_option
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The signed output manifest (omit for a C2PA image that carries it).",
)
@click.option(
    "--latents",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The latent chain (JSON Lines of envelopes, as custody latent sign writes it).",
)
@click.option("--digest-only", is_flag=True, help="Send the manifest, not the image bytes.")
@click.option("--json", "as_json", is_flag=True, help="Print the hub's answer as JSON.")
def register(
    image: Path,
    hub: str | None,
    token: str | None,
    log_key: str | None,
    manifest: Path | None,
    latents: Path,
    digest_only: bool,
    as_json: bool = False,
) -> None:
    """Register IMAGE with the hub; prints the log index once its receipt verifies."""
    if hub is None:
        raise click.UsageError("--hub (or $CUSTODY_HUB) is required")
    if digest_only and manifest is None:
        raise click.UsageError("--digest-only needs --manifest")
    try:
        with HubClient(hub, token, log_key=log_key) as client, image.open("rb") as handle:
            answer = client.register(
                None if digest_only else handle,
                manifest.read_bytes() if manifest is not None else None,
                read_chain(latents),
                _mime(image),
            )
            _unpinned_note(log_key is not None)
    except (VerificationError, FetchError) as exc:
        fail_on(exc)
    if as_json:
        click.echo(json.dumps(answer))
        return
    click.echo(f"registered {answer['image_digest']} at log index {answer['log_index']}")


@click.command(epilog=_EPILOG)
@_IMAGE
@hub_option
@token_option
@log_key_option
@hub_key_option
@click.option("--as", "reprinter", required=True, help="Who reprints (recorded and attributed).")
@click.option("--commercial", is_flag=True, help="The reprint is commercial.")
@click.option("--derivative", is_flag=True, help="The reprint is a derivative work.")
@click.option("--no-attribution", is_flag=True, help="The reprint will not credit the creator.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signed attribution statement (default IMAGE.attribution.json).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def reprint(
    image: Path,
    hub: str | None,
    token: str | None,
    log_key: str | None,
    hub_key: Path | None,
    reprinter: str,
    commercial: bool,
    derivative: bool,
    no_attribution: bool,
    out: Path | None,
    as_json: bool = False,
) -> None:
    """Ask the hub to reprint IMAGE; keep its signed attribution statement."""
    if hub is None:
        raise click.UsageError("--hub (or $CUSTODY_HUB) is required")
    digest = str(Digest.of_file(image))
    try:
        with _client(hub, token, log_key, hub_key) as client, image.open("rb") as handle:
            granted = client.reprint(
                handle,
                digest,
                _mime(image),
                reprinter=reprinter,
                commercial=commercial,
                derivative=derivative,
                attribution=not no_attribution,
            )
    except (VerificationError, FetchError) as exc:
        fail_on(exc)
    _unpinned_note(granted.keys_pinned)
    target = out or image.with_name(image.name + ".attribution.json")
    target.write_text(json.dumps(granted.answer["statement"], indent=2) + "\n")
    predicate = granted.statement["predicate"]
    if as_json:
        summary = {
            "log_index": granted.receipt.log_index,
            "original": predicate["original"]["imageDigest"],
            "via": granted.answer["via"],
            "creator": predicate["creator"],
            "license": predicate["license"],
            "model": predicate["model"]["reference"],
            "statement": str(target),
            "keys_pinned": granted.keys_pinned,
        }
        click.echo(json.dumps(summary))
        return
    click.echo(f"reprint recorded at log index {granted.receipt.log_index}")
    click.echo(f"  original: {predicate['original']['imageDigest']} ({granted.answer['via']})")
    click.echo(f"  creator: {predicate['creator']}; licence: {predicate['license']}")
    requested = predicate["reprint"].get("requestedBy") or {}
    click.echo(
        f"  reprinted by: {predicate['reprint']['reprinter']} (token {requested.get('tokenId')} "
        f"of namespace {requested.get('namespace')!r})"
    )
    click.echo(f"  model: {predicate['model']['reference']}")
    click.echo(f"  attribution statement: {target}")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {
    "output verify": output_verify,
    "output register": register,
    "reprint": reprint,
}
