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

# One registration mechanism for every package: each module below lists the commands it
# registers in ``COMMANDS``, keyed by their path under ``custody`` ("serve", "latent sign").
# A name whose command no module registers whole is a group the root assembles from the
# modules' "name sub" entries, so several packages can share one group without importing
# each other. name -> (one-line help, extra the modules need, modules registering it).
_COMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "serve": ("Run the registry service.", "registry", ("registry.cli.serve",)),
    "db": ("Database migrations.", "registry", ("registry.cli.serve",)),
    "token": ("Create, list and revoke API tokens.", "registry", ("registry.cli.access",)),
    "namespace": ("Create, list and show namespaces.", "registry", ("registry.cli.access",)),
    "tuf": ("The registry's TUF repository and keys.", "registry", ("registry.cli.tuf",)),
    "log-key": ("Print the log's verifier key.", "registry", ("registry.cli.log",)),
    "fsck": (
        "Compare the registry's database with its blob store; --repair queues and marks.",
        "registry",
        ("registry.cli.fsck",),
    ),
    "demo": (
        "The demo namespace `make run` seeds on an empty registry: remove it.",
        "registry",
        ("registry.cli.demo",),
    ),
    "gc": ("Remove blobs and manifests nothing references.", "registry", ("registry.cli.gc",)),
    "keygen": ("Generate a signing key pair.", "", ("signing.cli.sign",)),
    "sign": ("Sign a model as an OpenSSF Model Signing bundle.", "", ("signing.cli.sign",)),
    "sbom": ("Write a CycloneDX ML-BOM for a model.", "", ("signing.cli.sbom",)),
    "latent": (
        "Latent records: one signed record per denoising step, linked into a chain.",
        "",
        ("signing.cli.provenance", "verifier.cli.provenance"),
    ),
    "output": (
        "Output manifests and C2PA credentials: sign, verify (offline and with a hub), register.",
        "",
        ("signing.cli.provenance", "verifier.cli.hub"),
    ),
    "verify": ("Verify a model against its signature(s), offline.", "", ("verifier.cli.verify",)),
    "log": ("Audit a transparency log.", "", ("verifier.cli.log",)),
    "agent": ("Edge agent: pull verified, run, status.", "", ("verifier.cli.agent",)),
    "reprint": ("Reprint an image through a reprint hub.", "", ("verifier.cli.hub",)),
    "publish": (
        "Sign, describe and push a model as REPO:VERSION; the registry verifies it.",
        "",
        ("custody.publish",),
    ),
    "policy": ("Explain policy decisions; reload policies.", "", ("custody.policy",)),
    "push": ("Push a model directory as REPO:VERSION.", "", ("custody.transfer",)),
    "pull": ("Pull REPO:TAG into a directory, verified.", "", ("custody.transfer",)),
    "ls": ("List models, versions and aliases.", "", ("custody.catalog",)),
    "search": (
        "Find versions by signer and by SBOM facts (licence, dataset, opset, ...).",
        "",
        ("custody.catalog",),
    ),
    "alias": ("Move and delete model aliases.", "", ("custody.catalog",)),
    "tree": (
        "A version's whole custody: files, signatures, SBOM, aliases, outputs.",
        "",
        ("custody.inspect",),
    ),
    "audit": ("Read the registry's audit trail.", "", ("custody.inspect",)),
}


class _LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        help_text, extra, module_names = _COMMANDS[cmd_name]
        registered: dict[str, click.Command] = {}
        for module_name in module_names:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                return _unavailable(cmd_name, help_text, extra, exc.name or module_name)
            registered.update(module.COMMANDS)
        whole = registered.get(cmd_name)
        if whole is not None:
            return whole
        group = click.Group(cmd_name, help=help_text)
        for path, command in registered.items():
            group_name, _, sub_name = path.partition(" ")
            if group_name == cmd_name:
                group.add_command(command, sub_name)
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
