"""An app (or a live server) with policies in force, seeded by :mod:`.seed`; where the
browser tests' screenshots go."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import PolicySettings, Settings
from tests.registry.web.seed import Seeded, seed
from tests.support.browser import Screenshots
from tests.support.policy_files import PolicyFiles, make_policy_files


@pytest.fixture
def policy(tmp_path: Path) -> PolicyFiles:
    return make_policy_files(tmp_path / "policies")


@pytest.fixture
def client(settings: Settings, policy: PolicyFiles) -> Iterator[TestClient]:  # type: ignore[type-arg]
    configured = dataclasses.replace(
        settings, policies=PolicySettings(trust=policy.trust, admission=policy.admission)
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def seeded(client: TestClient, database_url: str, policy: PolicyFiles, tmp_path: Path) -> Seeded:  # type: ignore[type-arg]
    return seed(client, database_url, policy, tmp_path)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    """The browser tests' pictures: test artefacts, and docs/screenshots/ on request."""
    return Screenshots.from_environment(tmp_path_factory.mktemp("screenshots"))
