"""The app's services: one typed object, built by the lifespan, read through one accessor."""

from __future__ import annotations

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
