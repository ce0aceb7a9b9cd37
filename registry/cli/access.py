"""``custody token`` and ``custody namespace``: who may reach which namespace."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Scope, TokenService
from registry.auth.tokens import ensure_namespace, parse_duration
from registry.cli.support import _data_dir_option, _run_db, _settings
from registry.errors import RegistryError


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return "cli:unknown"


@click.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@click.option("--namespace", required=True, help="Namespace, or '*' for a site token.")
@click.option(
    "--scopes", required=True, help="Comma-separated: pull, push, promote (move aliases), admin."
)
@click.option("--expires-in", default=None, help="e.g. 90d, 12h, never (default 90d).")
@click.option("--description", default="", help="What the token is for.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the bare token.")
@_data_dir_option
def token_create(
    namespace: str,
    scopes: str,
    expires_in: str | None,
    description: str,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    settings = _settings(data_dir)
    try:
        parsed_scopes = Scope.parse_list(scopes)
        lifetime = (
            parse_duration(expires_in)
            if expires_in is not None
            else parse_duration(f"{settings.auth.default_token_ttl_seconds}s")
        )
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None

    async def work(session: AsyncSession) -> object:
        return await TokenService(session).create(
            namespace=namespace,
            scopes=parsed_scopes,
            actor=_cli_actor(),
            expires_in=lifetime,
            description=description,
        )

    issued = _run_db(settings, work)
    assert_issued = issued  # keeps mypy aware of the concrete type below
    from registry.auth import IssuedToken

    if not isinstance(assert_issued, IssuedToken):  # pragma: no cover
        raise click.ClickException("token creation returned nothing")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "id": assert_issued.id,
                    "token": assert_issued.secret,
                    "namespace": assert_issued.namespace,
                    "scopes": sorted(assert_issued.scopes),
                    "expires_at": assert_issued.expires_at.isoformat()
                    if assert_issued.expires_at
                    else None,
                }
            )
        )
    else:
        click.echo(assert_issued.secret)
        expiry = assert_issued.expires_at.isoformat() if assert_issued.expires_at else "never"
        click.echo(
            f"token {assert_issued.id} for {namespace} ({','.join(sorted(parsed_scopes))}), "
            f"expires {expiry}; it is shown only once",
            err=True,
        )


@token.command("revoke")
@click.argument("token_id")
@_data_dir_option
def token_revoke(token_id: str, data_dir: Path | None) -> None:
    """Revoke a token by its id (the part after cst_ and before the next _)."""
    settings = _settings(data_dir)
    if token_id.startswith("cst_"):
        token_id = token_id.split("_")[1]

    async def work(session: AsyncSession) -> None:
        await TokenService(session).revoke(token_id, actor=_cli_actor())

    _run_db(settings, work)
    click.echo(f"token {token_id} revoked")


@token.command("list")
@click.option("--namespace", default=None, help="Only this namespace's tokens ('*': site tokens).")
@click.option("--all", "include_inactive", is_flag=True, help="Include revoked and expired ones.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def token_list(
    namespace: str | None, include_inactive: bool, as_json: bool, data_dir: Path | None
) -> None:
    """List tokens: id, namespace, scopes, status, expiry (secrets are never stored)."""
    from registry.cli.views import render_tokens, token_rows

    rows = _run_db(
        _settings(data_dir),
        lambda session: token_rows(session, namespace, include_inactive=include_inactive),
    )
    click.echo(json.dumps(rows) if as_json else "\n".join(render_tokens(rows)))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@click.group()
def namespace() -> None:
    """Manage namespaces."""


@namespace.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def namespace_list(as_json: bool, data_dir: Path | None) -> None:
    """List namespaces with their anonymous-pull setting, models, active tokens and storage."""
    from registry.cli.views import namespace_rows, render_storage

    rows = _run_db(_settings(data_dir), namespace_rows)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(
            f"{r['name']}  anonymous pull {'on' if r['anonymous_pull'] else 'off'}  "
            f"{_count(r['models'], 'model')}  {_count(r['active_tokens'], 'active token')}  "
            f"storage {render_storage(r['used_bytes'], r['quota_bytes'])}"
        )
    if not rows:
        click.echo("no namespaces: custody namespace create NAME")


@namespace.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def namespace_show(name: str, as_json: bool, data_dir: Path | None) -> None:
    """One namespace: its settings, storage, models and active tokens."""
    from registry.cli.views import namespace_detail, render_storage, render_tokens

    detail = _run_db(_settings(data_dir), lambda session: namespace_detail(session, name))
    if as_json:
        click.echo(json.dumps(detail))
        return
    click.echo(
        f"namespace {detail['name']} (anonymous pull {'on' if detail['anonymous_pull'] else 'off'},"
        f" created {detail['created_at']})"
    )
    click.echo(f"storage: {render_storage(detail['used_bytes'], detail['quota_bytes'])}")
    click.echo(f"models ({len(detail['models'])}): {', '.join(detail['models']) or '-'}")
    click.echo(f"active tokens ({len(detail['tokens'])}):")
    for line in render_tokens(detail["tokens"]) if detail["tokens"] else []:
        click.echo(f"  {line}")


@namespace.command("create")
@click.argument("name")
@click.option("--anonymous-pull/--no-anonymous-pull", default=False)
@_data_dir_option
def namespace_create(name: str, anonymous_pull: bool, data_dir: Path | None) -> None:
    """Create a namespace (or update its anonymous-pull setting)."""
    settings = _settings(data_dir)

    async def work(session: AsyncSession) -> None:
        ns = await ensure_namespace(session, name, actor=_cli_actor())
        if ns.anonymous_pull != anonymous_pull:
            ns.anonymous_pull = anonymous_pull
            from registry.audit.service import record

            await record(
                session,
                actor=_cli_actor(),
                action="namespace.update",
                subject=f"namespace:{name}",
                namespace=name,
                detail={"anonymous_pull": anonymous_pull},
            )

    _run_db(settings, work)
    click.echo(f"namespace {name} (anonymous pull {'on' if anonymous_pull else 'off'})")


@namespace.command("quota")
@click.argument("name")
@click.argument("size", required=False)
@click.option("--clear", is_flag=True, help="Remove the quota (unlimited).")
@click.option(
    "--recount",
    is_flag=True,
    help="Recompute the usage from the stored rows, repairing the counter if it drifted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def namespace_quota(
    name: str,
    size: str | None,
    clear: bool,
    recount: bool,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Set a namespace's storage quota (10GiB, 500MB, bytes), --clear it, or show it.

    Usage counts each blob once per namespace, plus manifests. A push that would pass
    the quota is refused (409 DENIED) before its bytes are stored. The usage is a
    counter kept with every change; --recount recomputes it (audited if it had drifted).
    """
    from registry.cli.views import render_storage
    from registry.namespaces import service
    from registry.sizes import format_size, parse_size

    if clear and size is not None:
        raise click.ClickException("give a SIZE or --clear, not both")
    try:
        quota_bytes = parse_size(size) if size is not None else None
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None
    change = clear or size is not None

    async def work(session: AsyncSession) -> tuple[int | None, int, int | None]:
        ns = await service.namespace_named(session, name)
        if change:
            await service.set_quota(session, ns, quota_bytes, actor=_cli_actor())
        drift = await service.recount_usage(session, ns, actor=_cli_actor()) if recount else None
        return ns.quota_bytes, (await service.namespace_usage(session, ns)).used_bytes, drift

    quota, used, drift = _run_db(_settings(data_dir), work)
    if as_json:
        view: dict[str, Any] = {"name": name, "quota_bytes": quota, "used_bytes": used}
        if drift is not None:
            view["drift_bytes"] = drift
        click.echo(json.dumps(view))
        return
    limit = (
        "no quota (unlimited)" if quota is None else f"quota {format_size(quota)} ({quota} bytes)"
    )
    click.echo(f"namespace {name}: {limit}; storage {render_storage(used, quota)}")
    if drift is not None:
        click.echo(
            f"recounted: the counter was off by {drift:+d} bytes, repaired"
            if drift
            else "recounted: the counter was right"
        )


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"token": token, "namespace": namespace}
