"""The root assembles ``latent`` and ``output`` from the commands each package lists."""

from __future__ import annotations

import click
from click.testing import CliRunner

from custody.cli import cli
from signing.cli.provenance import latent_salt, latent_sign, output_sign
from verifier.cli.hub import output_verify, register
from verifier.cli.provenance import latent_verify


def _group(name: str) -> click.Group:
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Group)
    return command


def test_each_package_contributes_its_own_commands() -> None:
    assert _group("latent").commands == {
        "salt": latent_salt,
        "sign": latent_sign,
        "verify": latent_verify,
    }
    assert _group("output").commands == {
        "sign": output_sign,
        "verify": output_verify,
        "register": register,
    }


def test_output_verify_lists_the_offline_options_then_the_hub() -> None:
    names = [param.name for param in output_verify.params]
    assert names[0] == "image"
    assert names[-2:] == ["hub", "log_key"]
    help_text = CliRunner().invoke(cli, ["output", "verify", "--help"]).output
    assert help_text.index("  --c2pa") < help_text.index("  --hub TEXT")
