"""The provenance graph, the alias form's refusal and the audit filter in Debian's Chromium
(Playwright) against live ``custody serve`` processes (SQLite; test_more_pages.py covers both
engines over plain HTTP). Screenshots are test artefacts (``tests.support.browser``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.registry.hub.conftest import png
from tests.registry.web.hub_seed import REPRINTER, Registered, hub_env, hub_keys, register_output
from tests.registry.web.seed import Seeded, serve_seeded
from tests.registry.web.test_browser import _log_in
from tests.support.browser import Screenshots, chromium, needs_chromium
from tests.support.live import running_server
from tests.support.tokens import issue

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")


def _database(root: Path, template: Path) -> str:
    shutil.copyfile(template, root / "custody.db")
    return f"sqlite:///{root / 'custody.db'}"


@pytest.fixture(scope="module")
def site_database(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> str:
    return _database(tmp_path_factory.mktemp("pages-live"), sqlite_template)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, site_database: str
) -> Iterator[tuple[str, Seeded]]:
    with serve_seeded(tmp_path_factory.mktemp("pages-live-files"), site_database) as served:
        yield served


@pytest.fixture(scope="module")
def hub_site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[str, Registered]]:
    root = tmp_path_factory.mktemp("hub-live")
    url = _database(root, sqlite_template)
    keys = hub_keys()
    with running_server(root / "data", url, hub_env(root, keys)) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            registered = register_output(
                client, issue(url, "acme", "admin").secret, root, keys, png(seed=5, size=64)
            )
        yield base, registered


@pytest.fixture(scope="module")
def site_admin(site: tuple[str, Seeded], site_database: str) -> str:
    """A site administrator's token (``*``): the one who may see the policies page."""
    return issue(site_database, "*", "admin").secret


@pytest.fixture(scope="module")
def browser(
    site: tuple[str, Seeded], hub_site: tuple[str, Registered], site_admin: str
) -> Iterator[sync_api.Browser]:
    """Started after both sites are seeded (Playwright's sync API keeps a loop running)."""
    with chromium() as launched:
        yield launched


def test_move_an_alias_and_see_the_refusal_reasons(
    browser: sync_api.Browser, site: tuple[str, Seeded], screenshots: Screenshots
) -> None:
    base, seeded = site
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, base, seeded.admin, "/ui/acme/model")

    # Allowed: one trusted signature is enough for "candidate" (no rule: the default).
    page.get_by_role("textbox", name="Alias", exact=True).fill("candidate")
    page.get_by_role("combobox", name="Version", exact=True).fill("1.0.0")
    page.get_by_role("button", name="Move through the promotion gate").click()
    page.wait_for_url(f"{base}/ui/acme/model?moved=candidate#aliases-title")
    aliases = page.locator('section[aria-labelledby="aliases-title"] tbody th')
    assert aliases.filter(has_text="candidate").count() == 1

    # Refused: production needs two trusted signers (only alice signed).
    page.get_by_role("textbox", name="Alias", exact=True).fill("production")
    page.get_by_role("combobox", name="Version", exact=True).fill("1.0.0")
    page.get_by_role("button", name="Move through the promotion gate").click()
    refusal = page.get_by_role("alert")
    refusal.wait_for()
    text = refusal.inner_text()
    assert "production was not moved to 1.0.0" in text
    assert "needs 2 distinct trusted signer" in text
    assert page.locator("ul.refusal li").count() >= 1
    # The form keeps what was typed, to correct and resend.
    assert page.get_by_role("textbox", name="Alias", exact=True).input_value() == "production"
    refusal.scroll_into_view_if_needed()
    screenshots.take(page, "alias-refused.png")
    context.close()


def test_filter_the_audit_trail(
    browser: sync_api.Browser, site: tuple[str, Seeded], screenshots: Screenshots
) -> None:
    base, seeded = site
    # A refusal to find (the test above may run alone).
    refused = httpx.put(
        f"{base}/api/v1/models/acme/model/aliases/production",
        json={"version": "1.0.0"},
        headers={"Authorization": f"Bearer {seeded.admin}"},
    )
    assert refused.status_code == 409
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, base, seeded.admin, "/ui/-/audit")
    assert page.get_by_label("Namespace").input_value() == "acme"
    assert page.locator("tr.event").count() > 1
    page.get_by_label("Action").fill("alias.refused")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**action=alias.refused**")
    rows = page.locator("tr.event")
    assert rows.count() >= 1
    for i in range(rows.count()):
        row = rows.nth(i).inner_text()
        assert "alias.refused" in row and "acme/model:production" in row
    screenshots.take(page, "audit.png")
    context.close()


def test_the_policies_in_force_for_a_site_admin(
    browser: sync_api.Browser,
    site: tuple[str, Seeded],
    site_admin: str,
    screenshots: Screenshots,
) -> None:
    base, _seeded = site
    policies = httpx.get(
        f"{base}/api/v1/policies", headers={"Authorization": f"Bearer {site_admin}"}
    ).json()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, base, site_admin, "/ui")
    page.get_by_role("link", name="Policies", exact=True).click()
    page.wait_for_url(f"{base}/ui/-/policies")
    facts = page.locator("dl.facts").inner_text()
    assert policies["trust_policy"] in facts and policies["admission_policy"] in facts
    screenshots.take(page, "policies.png")
    context.close()


def test_browse_from_a_version_to_its_output_provenance(
    browser: sync_api.Browser, hub_site: tuple[str, Registered], screenshots: Screenshots
) -> None:
    base, registered = hub_site
    image = registered.generation.digest
    version = httpx.get(f"{base}/api/v1/outputs/{image}").json()["model"]["version"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, base, registered.token, f"/ui/acme/sd/versions/{version}")
    assert page.locator("tr.target").count() >= 2  # the manifest and the model's files
    page.locator("tr.output a").first.click()
    page.wait_for_url(f"{base}/ui/-/outputs/{image}")
    for name in ("Model version", "Latent steps", "Output", "Reprints (1)"):
        assert page.get_by_role("heading", name=name, exact=True).is_visible(), name
    assert page.get_by_role("img").first.is_visible()  # the server-drawn SVG
    assert REPRINTER in page.locator("#reprints-node").inner_text()
    assert "verified" in page.locator("#model-node").inner_text()
    screenshots.take(page, "provenance.png")

    # Each log entry links to its inclusion proof in the log API.
    page.locator("#output-node").get_by_role("link", name="inclusion proof").click()
    assert '"logIndex"' in page.content()
    page.go_back()
    page.get_by_role("link", name=f"acme/sd {version}").click()
    page.wait_for_url(f"{base}/ui/acme/sd/versions/{version}")
    context.close()
