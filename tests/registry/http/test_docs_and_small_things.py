"""Issue 14's small things: the API docs need nothing outside the registry, one charset."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import DatabaseSettings, Settings

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_REFERENCED = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest.fixture
def client(tmp_path, sqlite_template) -> Iterator[TestClient]:  # type: ignore[no-untyped-def,type-arg]
    import shutil

    shutil.copyfile(sqlite_template, tmp_path / "custody.db")
    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/custody.db"),
    )
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["", "/redoc", "/swagger"])
def test_docs_pages_and_every_asset_come_from_the_registry(client, page) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/openapi{page}")
    assert response.status_code == 200
    html = response.text
    assert not _EXTERNAL.search(html), _EXTERNAL.search(html)
    assert "fonts.googleapis" not in html and "cdn." not in html and "unpkg" not in html
    referenced = _REFERENCED.findall(html)
    assert referenced, "the page loads its bundle from somewhere"
    for url in referenced:
        assert url.startswith("/api/v1/openapi/assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 10_000
        if url.endswith(".css"):  # a stylesheet may pull fonts or images: none from outside
            assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", asset.text)
    assert "Custody registry" in html


def test_only_the_listed_assets_are_served(client) -> None:  # type: ignore[no-untyped-def]
    for name in ("index.html", "..%2F__init__.py", "logo-mini.svg", "favicon-32x32.png"):
        assert client.get(f"/api/v1/openapi/assets/{name}").status_code == 404


def test_the_docs_endpoints_that_used_a_cdn_are_gone(client) -> None:  # type: ignore[no-untyped-def]
    for page in ("/elements", "/rapidoc"):
        assert client.get(f"/api/v1/openapi{page}").status_code == 404
    assert client.get("/api/v1/openapi/openapi.json").status_code == 200


def test_log_text_endpoints_name_one_charset(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/log/key", "/api/v1/log/checkpoint"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
