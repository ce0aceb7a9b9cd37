"""Debian's Chromium driven by Playwright: the one launch every browser test and bench uses.

Playwright's own browser download is never used (no ``playwright install``): the tests
launch ``$CHROMIUM`` (default ``/usr/bin/chromium``, which ``make test`` installs when it is
missing) with the flags the project settled on. ``BrowserType.launch`` gives each launch a
fresh user-data directory of its own (a new temporary profile, removed at close; Playwright
refuses a ``--user-data-dir`` flag), so no cookie, cache or service worker outlives a run.

Screenshots are test artefacts: :class:`Screenshots` writes them under the pytest
temporary directory, and copies them to ``docs/screenshots/`` (tracked, shown in the README)
only when ``CUSTODY_UPDATE_SCREENSHOTS=1``, so a test run leaves a clean clone clean.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
#: Set to 1 to refresh the committed pictures in docs/screenshots/ from this run.
UPDATE_SCREENSHOTS = "CUSTODY_UPDATE_SCREENSHOTS"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

#: For a browser test module's ``pytestmark``: skipped where Chromium is missing, except on
#: CI, where a missing browser must fail the run rather than hide it.
needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK) and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)",
)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, closed on exit.

    Start it after any ``asyncio.run`` a fixture needs: Playwright's sync API keeps an event
    loop running in this thread while the browser is up.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


class Screenshots:
    """Where a test's pictures go: ``artefacts`` always, ``docs`` too when asked to update."""

    def __init__(self, artefacts: Path, docs: Path | None) -> None:
        self.artefacts = artefacts
        self.docs = docs

    @classmethod
    def from_environment(cls, artefacts: Path) -> Screenshots:
        update = os.environ.get(UPDATE_SCREENSHOTS, "") == "1"
        return cls(artefacts, DOCS_SCREENSHOTS if update else None)

    def take(self, page: Page, name: str, *, full_page: bool = False, docs: bool = True) -> Path:
        """Save ``name`` (a ``.png`` file name) of ``page``; returns the artefact's path.

        The viewport alone by default: a full page of a long table makes a large picture.
        ``docs=False``: a picture for the test's record only, never one for the README.
        """
        path = self.artefacts / name
        page.screenshot(path=str(path), full_page=full_page)
        if docs and self.docs is not None:
            self.docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.docs / name)
        return path


def layout_shift(page: Page) -> float:
    """The page's layout shift since it loaded (every entry, not CLS's windows: stricter).

    Read from the browser's buffered ``layout-shift`` entries. The skip link appearing on Tab
    moves only itself (it is positioned absolutely): those entries are left out. Take any
    full-page screenshot after this, never before: Chromium renders one by resizing the
    view, and a page that changes meanwhile reports a shift of the whole page (~0.9).
    """
    shift: float = page.evaluate(
        """() => new Promise((done) => {
            let total = 0;
            new PerformanceObserver((list) => {
                for (const entry of list.getEntries()) {
                    const skip = entry.sources.every((s) => s.node && s.node.className === "skip");
                    if (!skip) total += entry.value;
                }
            }).observe({type: "layout-shift", buffered: true});
            setTimeout(() => done(total), 300);
        })"""
    )
    return shift


def boxes(page: Page, *selectors: str) -> dict[str, tuple[float, float, float, float]]:
    """Each selector's first element as (left, top, width, height) in page coordinates:
    the same for two calls means nothing moved in between, seen or not from the viewport."""
    found: dict[str, list[float]] = page.evaluate(
        """(selectors) => Object.fromEntries(selectors.map((s) => {
            const r = document.querySelector(s).getBoundingClientRect();
            return [s, [r.left + scrollX, r.top + scrollY, r.width, r.height]];
        }))""",
        list(selectors),
    )
    return {s: (r[0], r[1], r[2], r[3]) for s, r in found.items()}
