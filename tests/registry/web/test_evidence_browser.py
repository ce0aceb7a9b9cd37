"""In Chromium: from an output's provenance graph to a log entry's page, by mouse and by
keyboard, and back to the output (SQLite; the page tests cover both engines)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.registry.hub.conftest import png
from tests.registry.web.hub_seed import Registered, hub_env, hub_keys, register_output
from tests.support.browser import chromium, needs_chromium
from tests.support.live import running_server
from tests.support.tokens import issue

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def hub_site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[str, Registered]]:
    root = tmp_path_factory.mktemp("evidence-live")
    shutil.copyfile(sqlite_template, root / "custody.db")
    url = f"sqlite:///{root / 'custody.db'}"
    keys = hub_keys()
    with running_server(root / "data", url, hub_env(root, keys)) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            registered = register_output(
                client, issue(url, "acme", "admin").secret, root, keys, png(seed=7, size=64)
            )
        yield base, registered


@pytest.fixture(scope="module")
def browser(hub_site: tuple[str, Registered]) -> Iterator[sync_api.Browser]:
    """Started after the site is seeded (Playwright's sync API keeps a loop running)."""
    with chromium() as launched:
        yield launched


def test_click_from_the_output_to_its_log_entry_and_back(
    browser: sync_api.Browser, hub_site: tuple[str, Registered], tmp_path: Path
) -> None:
    base, registered = hub_site
    image = registered.generation.digest
    index = httpx.get(f"{base}/api/v1/outputs/{image}").json()["log_index"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/ui/-/outputs/{image}")  # anonymous: the graph is public
    assert page.locator("tr.record").count() == 4
    assert "verified" in page.locator("#model-node").inner_text()
    assert "unsigned" in page.locator("#reprints-node").inner_text()
    page.screenshot(path=str(tmp_path / "provenance.png"), full_page=True)

    page.locator("#output-node").get_by_role("link", name=f"entry {index}").click()
    page.wait_for_url(f"{base}/ui/-/log/{index}")
    assert page.get_by_role("heading", name=f"Transparency log entry {index}").is_visible()
    assert "verified" in page.get_by_role("status").inner_text()
    page.screenshot(path=str(tmp_path / "log-entry.png"), full_page=True)

    page.get_by_role("link", name="its provenance").click()
    page.wait_for_url(f"{base}/ui/-/outputs/{image}")
    context.close()


def test_the_log_entry_link_is_reached_and_followed_from_the_keyboard(
    browser: sync_api.Browser, hub_site: tuple[str, Registered]
) -> None:
    base, registered = hub_site
    image = registered.generation.digest
    reprint = httpx.get(f"{base}/api/v1/outputs/{image}").json()["reprints"][0]["log_index"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/ui/-/outputs/{image}")
    target = f"/ui/-/log/{reprint}"
    for _ in range(80):  # Tab through the page until the reprint's log link has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == target:
            break
    else:
        pytest.fail(f"no Tab stop reached the link to {target}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{target}")
    assert "Kind reprint" in " ".join(page.locator("main").inner_text().split())
    assert "verified" in page.get_by_role("status").inner_text()
    context.close()
