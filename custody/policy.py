"""``custody policy check`` (a dry run of a promotion) and ``custody policy reload``."""

from __future__ import annotations

import json

import click

from custody.transfer import _fail, registry_option, split_reference, token_option
from verifier.clients.registry import FetchError, RegistryClient

__all__ = ["COMMANDS", "policy"]


@click.group()
def policy() -> None:
    """Explain the registry's policy decisions, and reload its policy files."""


@policy.command("check")
@click.argument("reference", metavar="REPO:VERSION")
@click.option("--alias", required=True, help="The alias the version would be promoted to.")
@registry_option
@token_option
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def check(reference: str, alias: str, registry: str, token: str | None, as_json: bool) -> None:
    """Would moving ALIAS to REPO:VERSION be allowed? Changes nothing; exits 1 if refused."""
    repository, version = split_reference(reference)
    namespace, model = repository.split("/", 1)
    try:
        with RegistryClient(registry, token) as client:
            decision = client.api(
                "GET",
                f"/api/v1/models/{namespace}/{model}/versions/{version}/promotion-check",
                params={"alias": alias},
            )
    except FetchError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps(decision))
    else:
        verdict = "allowed" if decision["allowed"] else "refused"
        click.echo(f"{repository}:{alias} -> {version}: {verdict} ({decision['rule']})")
        for rule in decision["failed_rules"]:
            click.echo(f"  failed: {rule}")
        for signer in decision["verified_signers"]:
            click.echo(f"  verified signer: {signer}")
        for note in decision["notes"]:
            click.echo(f"  note: {note}")
        policies = decision["policies"]
        click.echo(
            f"  policies: trust {policies['trust_policy']}, "
            f"admission {policies['admission_policy']}"
        )
    if not decision["allowed"]:
        raise SystemExit(1)


@policy.command("reload")
@registry_option
@token_option
def reload(registry: str, token: str | None) -> None:
    """Re-read the registry's policy files (a site admin token); a bad file changes nothing."""
    try:
        with RegistryClient(registry, token) as client:
            status = client.api("POST", "/api/v1/policies/reload")
    except FetchError as exc:
        raise _fail(exc) from None
    click.echo(
        f"policies reloaded: trust {status['trust_policy']}, admission {status['admission_policy']}"
    )


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"policy": policy}
