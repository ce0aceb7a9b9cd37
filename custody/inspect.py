"""``custody tree`` and ``custody audit``: read a version's whole custody, and the audit trail.

``tree`` is in the spirit of ``cosign tree``: one version, everything the
registry holds about it (files, signatures with their verdicts and signers,
the bound ML-BOM, the aliases pointing at it, the outputs registered against
it with the reprint hub), from the registry's JSON APIs. ``audit`` reads
``/api/v1/audit`` with the same filters the API takes.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from custody.transfer import _fail, count, registry_option, split_reference, token_option
from verifier.clients.registry import FetchError, RegistryClient

__all__ = ["COMMANDS", "audit", "tree"]

_DURATION = re.compile(r"^(\d+)([smhdw])\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def version_view(client: RegistryClient, repository: str, reference: str) -> dict[str, Any]:
    """The lifecycle API's view of REPO:VERSION (or of the version an alias points at)."""
    namespace, _, model = repository.partition("/")
    base = f"/api/v1/models/{namespace}/{model}"
    try:
        view: dict[str, Any] = client.api("GET", f"{base}/versions/{reference}")
    except FetchError as exc:
        if exc.status != 404:
            raise
        try:
            view = client.api("GET", f"{base}/aliases/{reference}")
        except FetchError:
            raise exc from None
    return view


def outputs_of(client: RegistryClient, repository: str, digest: str) -> list[dict[str, Any]]:
    """Every output registered against the version, following the pages."""
    outputs: list[dict[str, Any]] = []
    after = -1
    while True:
        page = client.api(
            "GET",
            "/api/v1/outputs",
            params={"model": repository, "digest": digest, "after": after, "limit": 1000},
        )
        outputs.extend(page["outputs"])
        if page.get("next_after") is None:
            return outputs
        after = int(page["next_after"])


def custody_tree(client: RegistryClient, repository: str, reference: str) -> dict[str, Any]:
    view = version_view(client, repository, reference)
    return {
        "model": view["model"],
        "version": view["version"],
        "digest": view["digest"],
        "created_at": view["created_at"],
        "pushed_by": view["pushed_by"],
        "files": [
            {"name": f["name"], "size": f["size"], "digest": f["digest"]} for f in view["files"]
        ],
        "signatures": view.get("signatures") or [],
        "sbom": view.get("sbom"),
        "aliases": view["aliases"],
        "referrers": view["referrers"],
        "outputs": outputs_of(client, view["model"], view["digest"]),
    }


def _branch(title: str, items: list[str], last: bool) -> list[str]:
    lines = [("└── " if last else "├── ") + title]
    pad = "    " if last else "│   "
    lines += [pad + ("└── " if i == len(items) - 1 else "├── ") + t for i, t in enumerate(items)]
    return lines


def render_tree(t: dict[str, Any]) -> list[str]:
    files = [f"{f['name']}  {_size(f['size'])}  {f['digest']}" for f in t["files"]]
    signatures = []
    for s in t["signatures"]:
        text = f"{s['signature']}  {s['outcome']}"
        if s.get("signer"):
            text += f"  signer {s['signer']}"
        if s.get("trusted_as"):
            text += f" (trusted as {s['trusted_as']})"
        if s["outcome"] != "verified" and s.get("reason"):
            text += f": {s['reason']}"
        signatures.append(text)
    sbom = t["sbom"]
    if sbom is None:
        sbom_items = ["none attached"]
    else:
        sbom_items = [f"{sbom['digest']}  CycloneDX {sbom.get('spec_version')}"]
        sbom_items += [
            f"{key}: {value}"
            for key, value in sbom.items()
            if key not in {"digest", "spec_version"} and not isinstance(value, dict | list)
        ]
    outputs = [
        f"{o['image_digest']}  by {o['creator']}  {o['license']}  log index {o['log_index']}"
        for o in t["outputs"]
    ]
    total = sum(f["size"] for f in t["files"])
    return [
        f"{t['model']}:{t['version']} {t['digest']}",
        *_branch(f"files ({count(len(files), 'file')}, {_size(total)})", files, False),
        *_branch(f"signatures ({len(signatures)})", signatures, False),
        *_branch("sbom", sbom_items, False),
        *_branch(f"aliases ({len(t['aliases'])})", list(t["aliases"]), False),
        *_branch(f"outputs ({len(outputs)})", outputs, True),
    ]


@click.command()
@click.argument("reference", metavar="REPO:VERSION")
@registry_option
@token_option
@click.option("--json", "as_json", is_flag=True, help="Print the tree as JSON.")
def tree(reference: str, registry: str, token: str | None, as_json: bool) -> None:
    """A version's whole custody: files, signatures and verdicts, SBOM, aliases, outputs."""
    repository, version = split_reference(reference)
    try:
        with RegistryClient(registry, token) as client:
            result = custody_tree(client, repository, version)
    except FetchError as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(result) if as_json else "\n".join(render_tree(result)))


def since_timestamp(text: str) -> str:
    """``24h``, ``7d`` (that long ago) or an ISO 8601 time, as the API's ``since``."""
    match = _DURATION.match(text.strip())
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return (datetime.now(UTC) - delta).isoformat()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a duration (30m, 24h, 7d) nor an ISO 8601 time",
            param_hint="--since",
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@click.command()
@click.option("--namespace", help="One namespace (a namespace admin token); else site admin.")
@click.option("--action", help="Only this action, e.g. alias.move, token.create.")
@click.option("--actor", help="Only this actor, e.g. token:0123abcd.")
@click.option("--since", help="Only events since: a duration (24h, 7d) or an ISO 8601 time.")
@click.option("--after", type=click.IntRange(min=0), default=0, help="Events after this id.")
@click.option(
    "--before",
    type=click.IntRange(min=1, max=2**63 - 1),
    default=None,
    help="The last events before this id (the page before; 9223372036854775807: the newest).",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@registry_option
@token_option
@click.option("--json", "as_json", is_flag=True, help="Print the API's page as JSON.")
def audit(
    namespace: str | None,
    action: str | None,
    actor: str | None,
    since: str | None,
    after: int,
    before: int | None,
    limit: int,
    registry: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Read the audit trail (/api/v1/audit), oldest first."""
    params: dict[str, Any] = {"after": after, "limit": limit}
    if before is not None:
        params["before"] = before
    for name, value in (("namespace", namespace), ("action", action), ("actor", actor)):
        if value is not None:
            params[name] = value
    if since is not None:
        params["since"] = since_timestamp(since)
    try:
        with RegistryClient(registry, token) as client:
            page = client.api("GET", "/api/v1/audit", params=params)
    except FetchError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(page))
        return
    for e in page["events"]:
        detail = json.dumps(e["detail"], separators=(",", ":")) if e["detail"] else ""
        click.echo(
            f"{e['id']}  {e['occurred_at']}  {e['actor']}  {e['action']}  {e['subject']}"
            + (f"  {detail}" if detail else "")
        )
    if not page["events"]:
        click.echo("no events", err=True)
    if page.get("prev_before") is not None:
        click.echo(f"older: custody audit --before {page['prev_before']} ...", err=True)
    if page.get("next_after") is not None:
        click.echo(f"more: custody audit --after {page['next_after']} ...", err=True)


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"tree": tree, "audit": audit}
