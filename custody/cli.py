"""Root of the ``custody`` command line.

Sub-command groups are registered by dotted path and imported only when used,
so that a missing optional extra (for example ``registry`` on an edge device)
produces one clear line instead of a traceback, and so that ``custody --help``
stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from custody import __version__

# name -> (module, attribute, extra that provides it, one-line help)
_COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "serve": ("registry.cli.access", "serve", "registry", "Run the registry service."),
    "db": ("registry.cli.access", "db", "registry", "Database migrations."),
    "token": ("registry.cli.access", "token", "registry", "Create, list and revoke API tokens."),
    "namespace": (
        "registry.cli.access",
        "namespace",
        "registry",
        "Create, list and show namespaces.",
    ),
    "tuf": ("registry.cli.tuf", "tuf", "registry", "The registry's TUF repository and keys."),
    "keygen": ("signing.cli.sign", "keygen", "", "Generate a signing key pair."),
    "sign": ("signing.cli.sign", "sign", "", "Sign a model as an OpenSSF Model Signing bundle."),
    "sbom": ("signing.cli.sbom", "sbom", "", "Write a CycloneDX ML-BOM for a model."),
    "verify": (
        "verifier.cli.verify",
        "verify",
        "",
        "Verify a model against its signature(s), offline.",
    ),
    "publish": (
        "custody.publish",
        "publish",
        "",
        "Sign, describe and push a model as REPO:VERSION; the registry verifies it.",
    ),
    "policy": ("custody.policy", "policy", "", "Explain policy decisions; reload policies."),
    "push": ("custody.transfer", "push", "", "Push a model directory as REPO:VERSION."),
    "pull": ("custody.transfer", "pull", "", "Pull REPO:TAG into a directory, verified."),
    "ls": ("custody.catalog", "list_models", "", "List models, versions and aliases."),
    "alias": ("custody.catalog", "alias", "", "Move and delete model aliases."),
    "tree": (
        "custody.inspect",
        "tree",
        "",
        "A version's whole custody: files, signatures, SBOM, aliases, outputs.",
    ),
    "audit": ("custody.inspect", "audit", "", "Read the registry's audit trail."),
    "log": ("verifier.cli.log", "log", "", "Audit a transparency log."),
    "log-key": ("registry.cli.log", "log_key", "registry", "Print the log's verifier key."),
    "agent": ("verifier.cli.agent", "agent", "", "Edge agent: pull verified, run, status."),
    "reprint": ("verifier.cli.hub", "reprint", "", "Reprint an image through a reprint hub."),
}

# Groups that several packages add commands to: name -> (help, modules contributing to it).
# Each contributing module lists its commands per group in ``SHARED_COMMANDS``; the group is
# assembled here, so no package rebuilds another's.
_SHARED_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "latent": (
        "Latent records: one signed record per denoising step, linked into a chain.",
        ("signing.cli.provenance", "verifier.cli.provenance"),
    ),
    "output": (
        "Output manifests and C2PA credentials: sign, verify (offline and with a hub), register.",
        ("signing.cli.provenance", "verifier.cli.hub"),
    ),
}


class _LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*_COMMANDS, *_SHARED_GROUPS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SHARED_GROUPS:
            return _shared_group(cmd_name)
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attribute, extra, help_text = spec
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name or module_name
            return _unavailable(cmd_name, help_text, extra, missing)
        command: click.Command = getattr(module, attribute)
        return command


def _shared_group(name: str) -> click.Command:
    """The group ``name``, holding the commands each contributing module lists for it."""
    help_text, contributors = _SHARED_GROUPS[name]
    group = click.Group(name, help=help_text)
    for module_name in contributors:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            return _unavailable(name, help_text, "", exc.name or module_name)
        for command in module.SHARED_COMMANDS.get(name, ()):
            group.add_command(command)
    return group


def _unavailable(name: str, help_text: str, extra: str, missing: str) -> click.Command:
    @click.command(name=name, help=f"{help_text} (unavailable: needs custody[{extra}])")
    def _cmd(**_: Any) -> None:
        raise click.ClickException(
            f"'custody {name}' needs the '{extra}' extra ({missing} is not installed): "
            f"pip install 'custody[{extra}]'"
        )

    return _cmd


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit statuses: docs/exit-codes.md, or 'python -m signing.exit_codes'.",
)
@click.version_option(__version__, prog_name="custody", message="%(prog)s %(version)s")
def cli() -> None:
    """Custody: a chain of custody from a model's release to every image it generates."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``custody`` console script."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="custody")
