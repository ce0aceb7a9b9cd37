"""A live ``custody serve`` per test module and engine, driven through the real CLI."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from custody.cli import cli
from tests.interop.conftest import LiveRegistry, _private_home, live_registry

__all__ = ["LiveRegistry", "Run", "_private_home", "live_registry", "small_model"]

Run = Callable[..., Result]


@pytest.fixture
def run(live_registry: LiveRegistry) -> Run:
    """``run(token, *args)``: the ``custody`` command line in this process, one Result."""

    def invoke(token: str | None, *args: str) -> Result:
        env = {"CUSTODY_REGISTRY": live_registry.base, "CUSTODY_TOKEN": token}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def small_model(root: Path) -> Path:
    """Two small files: a safetensors header with one tensor, and a JSON config."""
    root.mkdir(parents=True)
    header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    (root / "model.safetensors").write_bytes(
        len(header).to_bytes(8, "little") + header + os.urandom(16)
    )
    (root / "config.json").write_text('{"arch": "unet"}')
    return root
