"""The browser tests' shared launch and screenshots (``tests.support.browser``), without a
browser: the pictures stay test artefacts unless a refresh of docs/screenshots/ is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from tests.support import browser
from tests.support.browser import DOCS_SCREENSHOTS, UPDATE_SCREENSHOTS, Screenshots


class _Page:
    """What ``Screenshots.take`` asks of a Playwright page."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def screenshot(self, *, path: str, full_page: bool) -> None:
        self.calls.append({"path": path, "full_page": full_page})
        Path(path).write_bytes(b"\x89PNG fake")


@pytest.mark.parametrize("value", [None, "", "0", "yes"])
def test_screenshots_stay_test_artefacts_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(UPDATE_SCREENSHOTS, raising=False)
    else:
        monkeypatch.setenv(UPDATE_SCREENSHOTS, value)
    shots = Screenshots.from_environment(tmp_path)
    assert shots.docs is None
    page = _Page()
    assert shots.take(cast(Any, page), "page.png") == tmp_path / "page.png"
    assert (tmp_path / "page.png").is_file()
    assert page.calls == [{"path": str(tmp_path / "page.png"), "full_page": False}]


def test_screenshots_are_copied_to_the_docs_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UPDATE_SCREENSHOTS, "1")
    assert Screenshots.from_environment(tmp_path / "a").docs == DOCS_SCREENSHOTS
    assert DOCS_SCREENSHOTS.parent.name == "docs" and DOCS_SCREENSHOTS.parent.is_dir()
    docs = tmp_path / "docs" / "screenshots"  # not the tracked folder: a test writes no docs
    shots = Screenshots(tmp_path / "artefacts", docs)
    (tmp_path / "artefacts").mkdir()
    shots.take(cast(Any, _Page()), "tall.png", full_page=True)
    assert (docs / "tall.png").read_bytes() == (tmp_path / "artefacts" / "tall.png").read_bytes()
    shots.take(cast(Any, _Page()), "record-only.png", docs=False)  # a test's own record
    assert (tmp_path / "artefacts" / "record-only.png").is_file()
    assert not (docs / "record-only.png").exists()


def test_every_browser_is_launched_by_the_shared_helper() -> None:
    """One launch (flags, executable, fresh profile) for every test and bench: no copy."""
    helper = Path(browser.__file__).resolve()
    root = helper.parents[2]
    launches = ("chromium" + ".launch(", "sync_" + "playwright()")  # not found in this file
    elsewhere = [
        str(path.relative_to(root))
        for folder in ("tests", "bench")
        for path in (root / folder).rglob("*.py")
        if path != helper and any(launch in path.read_text() for launch in launches)
    ]
    assert elsewhere == []
    assert "--headless" in browser.CHROMIUM_ARGS and "--no-sandbox" in browser.CHROMIUM_ARGS
