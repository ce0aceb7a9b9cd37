"""The provenance graph, the alias form's refusal and the audit filter in Debian's Chromium
(Playwright) against live ``custody serve`` processes (SQLite; test_more_pages.py covers both
engines over plain HTTP). Screenshots go under the test's temporary directory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.registry.hub.conftest import png
from tests.registry.web.hub_seed import REPRINTER, Registered, hub_env, hub_keys, register_output
from tests.registry.web.seed import Seeded, seed
from tests.registry.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _log_in
from tests.support.live import running_server
from tests.support.policy_files import make_policy_files
from tests.support.tokens import issue

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)",
)

sync_api = pytest.importorskip("playwright.sync_api")


def _database(root: Path, template: Path) -> str:
    shutil.copyfile(template, root / "custody.db")
    return f"sqlite:///{root / 'custody.db'}"


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[str, Seeded]]:
    root = tmp_path_factory.mktemp("pages-live")
    url = _database(root, sqlite_template)
    policy = make_policy_files(root / "policies")
    env = {
        "CUSTODY_TRUST_POLICY": str(policy.trust),
        "CUSTODY_ADMISSION_POLICY": str(policy.admission),
    }
    with running_server(root / "data", url, env) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            seeded = seed(client, url, policy, root)
        yield base, seeded


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
def browser(
    site: tuple[str, Seeded], hub_site: tuple[str, Registered]
) -> Iterator[sync_api.Browser]:
    """Started after both sites are seeded (Playwright's sync API keeps a loop running)."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def test_move_an_alias_and_see_the_refusal_reasons(
    browser: sync_api.Browser, site: tuple[str, Seeded], shots: Path
) -> None:
    base, seeded = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
    page.screenshot(path=str(shots / "alias-refused.png"), full_page=True)
    context.close()


def test_filter_the_audit_trail(
    browser: sync_api.Browser, site: tuple[str, Seeded], shots: Path
) -> None:
    base, seeded = site
    # A refusal to find (the test above may run alone).
    refused = httpx.put(
        f"{base}/api/v1/models/acme/model/aliases/production",
        json={"version": "1.0.0"},
        headers={"Authorization": f"Bearer {seeded.admin}"},
    )
    assert refused.status_code == 409
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
    page.screenshot(path=str(shots / "audit.png"), full_page=True)
    context.close()


def test_browse_from_a_version_to_its_output_provenance(
    browser: sync_api.Browser, hub_site: tuple[str, Registered], shots: Path
) -> None:
    base, registered = hub_site
    image = registered.generation.digest
    version = httpx.get(f"{base}/api/v1/outputs/{image}").json()["model"]["version"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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
    page.screenshot(path=str(shots / "provenance.png"), full_page=True)

    # Each log entry links to its inclusion proof in the log API.
    page.locator("#output-node").get_by_role("link", name="inclusion proof").click()
    assert '"logIndex"' in page.content()
    page.go_back()
    page.get_by_role("link", name=f"acme/sd {version}").click()
    page.wait_for_url(f"{base}/ui/acme/sd/versions/{version}")
    context.close()
