"""The pages in a real browser: Debian's Chromium driven by Playwright against a live
``custody serve`` (SQLite; the plain-HTTP tests in test_pages.py cover both engines).

The browser is launched by :mod:`tests.support.browser` (Debian's ``/usr/bin/chromium``,
never Playwright's own download). Screenshots of the main pages are test artefacts
(``CUSTODY_UPDATE_SCREENSHOTS=1`` also refreshes ``docs/screenshots/``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry.web.seed import DATASET, Seeded, serve_seeded
from tests.support.browser import Screenshots, chromium, layout_shift, needs_chromium

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[str, Seeded]]:
    root = tmp_path_factory.mktemp("web-live")
    database = root / "custody.db"
    shutil.copyfile(sqlite_template, database)
    with serve_seeded(root, f"sqlite:///{database}") as served:
        yield served


@pytest.fixture(scope="module")
def browser(site: tuple[str, Seeded]) -> Iterator[sync_api.Browser]:
    """Chromium, started after the site is seeded (Playwright's sync API keeps an event
    loop running in this thread, where seeding's ``asyncio.run`` could not start one)."""
    with chromium() as launched:
        yield launched


def _log_in(page: sync_api.Page, base: str, token: str, start: str) -> None:
    page.goto(f"{base}{start}")
    if "/ui/-/login" not in page.url:  # a page anyone may see: log in from its header
        page.get_by_role("link", name="Log in").click()
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{start}")


def test_log_in_and_browse_to_a_version(
    browser: sync_api.Browser, site: tuple[str, Seeded], screenshots: Screenshots
) -> None:
    base, seeded = site
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, base, seeded.admin, "/ui")
    screenshots.take(page, "namespaces.png")

    page.get_by_role("link", name="acme", exact=True).click()
    page.get_by_role("link", name="model", exact=True).click()
    assert page.get_by_role("heading", name="Alias history").is_visible()
    screenshots.take(page, "model.png")

    page.get_by_role("link", name="1.0.0").first.click()
    page.wait_for_url(f"{base}/ui/acme/model/versions/1.0.0")
    rows = page.locator("tr.signature")
    assert rows.count() == 2
    assert "verified" in rows.nth(0).inner_text() and "alice" in rows.nth(0).inner_text()
    assert "failed" in rows.nth(1).inner_text()
    sbom = page.locator("dl.sbom").inner_text()
    assert "Apache-2.0" in sbom and DATASET in sbom
    assert seeded.digest in page.locator("dl.facts").first.inner_text()
    # The page settles without moving: no web fonts, no late images, no late script content.
    assert layout_shift(page) == 0
    screenshots.take(page, "version.png")

    # The session cookie: no script can read it, no other site's page sends it.
    (cookie,) = [c for c in context.cookies() if c["name"] == "custody_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui" and cookie["expires"] == -1  # a session cookie
    assert "custody_session" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/ui")
    assert not [c for c in context.cookies() if c["name"] == "custody_session"]
    context.close()


def test_anonymous_browsing_and_the_login_redirect(
    browser: sync_api.Browser, site: tuple[str, Seeded]
) -> None:
    base, _seeded = site
    page = browser.new_page()
    page.goto(f"{base}/")
    assert page.url == f"{base}/ui"
    assert page.get_by_role("link", name="acme", exact=True).count() == 0
    page.get_by_role("link", name="public", exact=True).click()
    page.get_by_role("link", name="demo", exact=True).click()
    assert page.get_by_role("link", name="0.1.0").count() >= 1

    page.goto(f"{base}/ui/acme/model")
    assert page.url == f"{base}/ui/-/login?next=/ui/acme/model"
    assert page.get_by_label("Token").is_visible()
    page.close()


def test_every_page_loads_only_from_the_registry(
    browser: sync_api.Browser, site: tuple[str, Seeded]
) -> None:
    base, seeded = site
    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    _log_in(page, base, seeded.admin, "/ui")
    for path in (
        "/ui",
        "/ui/acme",
        "/ui/acme?license=Apache-2.0",
        "/ui/acme?signer=alice",
        "/ui/acme/model",
        "/ui/acme/model/versions/1.0.0",
        "/ui/public/demo",
        "/ui/nowhere",
    ):
        page.goto(f"{base}{path}")
        urls = page.eval_on_selector_all(
            "[src], [href], [action]",
            "nodes => nodes.map(n => n.src || n.href || n.action)",
        )
        assert urls, path
        outside = [u for u in urls if not u.startswith(f"{base}/")]
        assert outside == [], (path, outside)
    assert requested and all(url.startswith(f"{base}/") for url in requested), requested
    context.close()


def test_readable_on_a_phone_and_usable_from_the_keyboard(
    browser: sync_api.Browser, site: tuple[str, Seeded], screenshots: Screenshots
) -> None:
    base, seeded = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    _log_in(page, base, seeded.admin, "/ui/acme/model/versions/1.0.0")
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    screenshots.take(page, "version-phone.png")

    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    context.close()


def test_search_by_signer_on_a_phone(
    browser: sync_api.Browser, site: tuple[str, Seeded], screenshots: Screenshots
) -> None:
    base, seeded = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    _log_in(page, base, seeded.admin, "/ui/acme")
    page.get_by_label("Signed by").fill("alice")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**signer=alice**")
    hits = page.locator("section[aria-labelledby=hits-title]")
    assert hits.get_by_role("link", name="1.0.0").is_visible()
    assert page.get_by_label("Signed by").input_value() == "alice"
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    screenshots.take(page, "namespace-signer-search-phone.png", full_page=True, docs=False)
    # mallory signed 1.0.0 too, but the signature failed: no hit.
    page.get_by_label("Signed by").fill("mallory")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**signer=mallory**")
    assert "No version in acme matches" in hits.inner_text()
    context.close()
