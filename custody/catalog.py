"""``custody ls``, ``custody search`` and ``custody alias set|delete``: what a registry holds,
which versions a signer or an SBOM fact finds, and the aliases."""

from __future__ import annotations

import json

import click

from custody.transfer import _fail, json_option, registry_option, token_option
from verifier.clients.registry import FetchError, RegistryClient
from verifier.errors import VerificationError

__all__ = ["COMMANDS", "alias", "list_models", "search"]

#: ``custody search`` option -> ``GET /api/v1/versions`` parameter.
_SEARCH_FILTERS = ("signer", "license", "dataset", "supplier", "opset", "component", "dtype")


@click.command(name="ls")
@click.argument("repository", required=False)
@registry_option
@token_option
@click.option("--json", "as_json", is_flag=True)
def list_models(repository: str | None, registry: str, token: str | None, as_json: bool) -> None:
    """List models, or one model's versions and aliases."""
    try:
        with RegistryClient(registry, token) as client:
            if repository is None:
                result = client.api("GET", "/api/v1/models", params={"limit": 500})
                lines = [
                    f"{m['name']}  versions={m['versions']}  latest={m['latest_version'] or '-'}"
                    for m in result["models"]
                ]
            else:
                namespace, _, model = repository.partition("/")
                result = client.api("GET", f"/api/v1/models/{namespace}/{model}")
                lines = [f"{v['version']}  {v['digest']}" for v in result["versions"]]
                lines += [
                    f"{a['alias']} -> {', '.join(a['versions']) or a['digest']}"
                    for a in result["aliases"]
                ]
    except (FetchError, VerificationError) as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(result) if as_json else "\n".join(lines))


@click.command(name="search")
@click.option(
    "--signer",
    help="Signed by: a key id (or its first 8+ hex digits), an identity as signed (e-mail, "
    "URI) or the trust policy's signer name. Verified signatures only.",
)
@click.option("--license", "license_", help="An SPDX licence id the SBOM names.")
@click.option("--dataset", help="A dataset the SBOM names.")
@click.option("--supplier", help="The SBOM's supplier.")
@click.option("--opset", help="An ONNX opset: 13 (ai.onnx >= 13), <=17, com.microsoft>=1.")
@click.option("--component", help="A component digest (sha256:...).")
@click.option("--dtype", help="A tensor dtype the SBOM lists (F16, BF16, ...).")
@click.option("--namespace", help="Only this namespace.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@registry_option
@token_option
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
def search(
    namespace: str | None,
    limit: int,
    registry: str,
    token: str | None,
    as_json: bool,
    license_: str | None,
    **filters: str | None,
) -> None:
    """Find versions by who signed them and by SBOM facts (GET /api/v1/versions);
    every filter given must hold."""
    params: dict[str, str | int] = {
        name: value
        for name, value in {**filters, "license": license_}.items()
        if name in _SEARCH_FILTERS and value is not None
    }
    if not params:
        raise click.UsageError("give at least one of --signer, --license, --dataset, --opset, ...")
    if namespace is not None:
        params["namespace"] = namespace
    params["limit"] = limit
    try:
        with RegistryClient(registry, token) as client:
            result = client.api("GET", "/api/v1/versions", params=params)
    except (FetchError, VerificationError) as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(result))
        return
    for hit in result["versions"]:
        click.echo(f"{hit['model']}:{hit['version']}  {hit['digest']}")
    if not result["versions"]:
        click.echo("no version matches", err=True)
    elif result["total"] > len(result["versions"]):
        click.echo(f"{len(result['versions'])} of {result['total']} shown (--limit)", err=True)


@click.group()
def alias() -> None:
    """Move and delete model aliases (production, staging, ...)."""


@alias.command("set")
@click.argument("repository")
@click.argument("alias_name", metavar="ALIAS")
@click.argument("version")
@registry_option
@token_option
@json_option
def alias_set(
    repository: str,
    alias_name: str,
    version: str,
    registry: str,
    token: str | None,
    as_json: bool,
) -> None:
    """Point ALIAS of REPOSITORY at VERSION (audited, checked by policy)."""
    namespace, _, model = repository.partition("/")
    try:
        with RegistryClient(registry, token) as client:
            result = client.api(
                "PUT",
                f"/api/v1/models/{namespace}/{model}/aliases/{alias_name}",
                json={"version": version},
            )
    except (FetchError, VerificationError) as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(result | {"version": version}))
        return
    click.echo(f"{repository}:{alias_name} {result['previous'] or '(new)'} -> {result['current']}")


@alias.command("delete")
@click.argument("repository")
@click.argument("alias_name", metavar="ALIAS")
@registry_option
@token_option
@json_option
def alias_delete(
    repository: str, alias_name: str, registry: str, token: str | None, as_json: bool
) -> None:
    """Delete ALIAS of REPOSITORY (audited, checked by policy); versions never go."""
    namespace, _, model = repository.partition("/")
    path = f"/api/v1/models/{namespace}/{model}/aliases/{alias_name}"
    try:
        with RegistryClient(registry, token) as client:
            aliases = client.api("GET", f"/api/v1/models/{namespace}/{model}/aliases")
            previous = next((a["digest"] for a in aliases if a["alias"] == alias_name), None)
            client.api("DELETE", path)
    except (FetchError, VerificationError) as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps({"model": repository, "alias": alias_name, "previous": previous}))
        return
    click.echo(f"deleted {repository}:{alias_name} (was {previous or 'unknown'})")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"ls": list_models, "search": search, "alias": alias}
