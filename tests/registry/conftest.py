"""Fixtures for the registry: an app on each engine, and its test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import Settings
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def oci(client: TestClient, make_token) -> Oci:  # type: ignore[no-untyped-def,type-arg]
    """A /v2/ client holding an admin token for the ``acme`` namespace."""
    token = make_token(scopes="admin")
    return Oci(client, bearer(token.secret))
