"""Every package registers its commands one way: ``COMMANDS``, keyed by path under ``custody``."""

from __future__ import annotations

import importlib

import click
import pytest

from custody.cli import _COMMANDS, cli

_MODULES = sorted({module for _, _, modules in _COMMANDS.values() for module in modules})


@pytest.mark.parametrize("module_name", _MODULES)
def test_each_registered_path_is_one_the_root_lists_for_that_module(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.COMMANDS
    for path, command in module.COMMANDS.items():
        name, _, sub = path.partition(" ")
        assert module_name in _COMMANDS[name][2], path
        assert isinstance(command, click.Command)
        assert (sub or name) == command.name, path


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_every_root_name_resolves_to_a_registered_command(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert "unavailable" not in (command.help or "")
    if isinstance(command, click.Group) and command.help == _COMMANDS[name][0]:
        assert command.commands, name  # an assembled group holds what its modules registered
