"""The app's services: one typed object, built by the lifespan, read through one accessor."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from litestar.testing import TestClient

import registry
from registry import create_app
from registry.services import Services, services_of
from registry.settings import Settings


def test_services_exist_once_the_lifespan_has_started(settings: Settings) -> None:
    app = create_app(settings)
    with pytest.raises(RuntimeError, match="lifespan"):
        services_of(app)
    with TestClient(app=app, base_url="http://127.0.0.1") as client:
        services = services_of(client.app)
        assert isinstance(services, Services)
        assert services.settings is settings
        assert client.get("/readyz").status_code in {200, 503}  # a handler injected with them


def test_only_the_accessor_reads_the_application_state() -> None:
    package = Path(registry.__file__).parent
    reads = re.compile(r"\bapp\.state\b|\bstate\.[a-z_]+")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "services.py" and reads.search(path.read_text())
    ]
    assert offenders == []


def test_the_services_module_imports_no_slice_at_run_time() -> None:
    """The layers contract ignores registry.services' imports: they must stay type-only."""
    tree = ast.parse((Path(registry.__file__).parent / "services.py").read_text())
    type_only = {
        id(node)
        for block in tree.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    run_time = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom | ast.Import) and id(node) not in type_only
    ]
    assert [line for line in run_time if "registry" in line] == []
    assert any("registry" in ast.unparse(node) for node in ast.walk(tree) if id(node) in type_only)
