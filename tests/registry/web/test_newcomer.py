"""What a newcomer does, end to end and offline: ``make run``, then the two printed URLs in
a browser (docs/demo.md).

The real ``make run`` recipe runs (``custody db upgrade``, then ``custody serve`` with
``CUSTODY_DEMO=1``) in a fresh data directory, with the caller's environment stripped of
every ``CUSTODY_`` variable, as a new shell's would be. The URLs and the image path are read
from the start-up log, not assumed. Headless Chromium then opens them with every request to
another host refused and recorded: the model page must show the promoted alias and, one
click on, the verified signature; the verify page, given the printed image, must show the
creator, the model version and a checked inclusion proof without the image leaving the
browser. SIGTERM to ``make`` must stop the server.

``make`` runs with this interpreter's virtualenv (``VENV=``) and with the stamp of its
installation and the optional web-asset copy marked as done (``-o``): the test must never
reinstall the environment it runs in nor fetch anything. A dry run (``make -n``) checks
first that the two ``custody`` commands are all that would run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.browser import chromium, needs_chromium
from tests.support.live import START_DEADLINE_S, free_port

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make")
VENV = Path(sys.executable).parent.parent
#: The line registry.demo.seed.pages() writes once the demo is seeded.
PAGES = re.compile(
    r"demo: model page (?P<model>http://\S+) ; verify page (?P<verify>http://\S+) "
    r"\(drop (?P<image>.+) on it\)$",
    re.MULTILINE,
)
ELSEWHERE = "http://192.0.2.1/"


@dataclass(frozen=True, slots=True)
class Started:
    """What the start-up log printed, and the log itself."""

    model_url: str
    verify_url: str
    image: Path
    log: Path


def _make(data_dir: Path, port: int, *extra: str) -> list[str]:
    assert MAKE is not None
    return [
        MAKE,
        "-C",
        str(REPO),
        "--no-print-directory",
        # Never (re)install the running virtualenv, never copy or fetch web assets.
        "-o",
        str(VENV / ".custody-installed"),
        "-o",
        "web-assets-optional",
        *extra,
        "run",
        f"VENV={VENV}",
        f"DATA_DIR={data_dir}",
        f"PORT={port}",  # the host is make's default, loopback
    ]


def _newcomer_env() -> dict[str, str]:
    """A shell's environment: no CUSTODY_ setting, no outer make's flags."""
    dropped = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    return {
        k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_") and k not in dropped
    }


def _wait_for_pages(process: subprocess.Popen[bytes], log: Path) -> re.Match[str]:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        text = log.read_text(errors="replace")
        found = PAGES.search(text)
        if found is not None and "demo: seeded" in text:
            return found
        assert "demo: seeding failed" not in text, text
        assert process.poll() is None, f"make exited with {process.returncode}:\n{text}"
        assert time.monotonic() < deadline, f"no demo URLs within the deadline:\n{text}"
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Whatever is left of ``make`` and its server (their own process group), at teardown."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def started(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Started, subprocess.Popen[bytes]]]:
    if MAKE is None:
        pytest.skip("no make on this machine")
    root = tmp_path_factory.mktemp("newcomer")
    data_dir, port, env = root / "var", free_port(), _newcomer_env()
    dry = subprocess.run(
        _make(data_dir, port, "-n"), env=env, capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert len(lines) == 2, dry.stdout  # nothing is installed, nothing fetched
    assert lines[0].endswith("/custody db upgrade"), lines
    assert f"/custody serve --host 127.0.0.1 --port {port}" in lines[1], lines
    assert "CUSTODY_DEMO=1 " in lines[1], lines

    log = root / "make-run.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _make(data_dir, port),
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: teardown can end make and server together
        )
    try:
        found = _wait_for_pages(process, log)
        yield (
            Started(found["model"], found["verify"], Path(found["image"]), log),
            process,
        )
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browser(started: tuple[Started, subprocess.Popen[bytes]]) -> Iterator[sync_api.Browser]:
    with chromium() as launched:
        yield launched


def _air_gapped(context: sync_api.BrowserContext, origin: str) -> list[str]:
    """Refuse every request that is not to ``origin``; returns the list of those refused."""
    refused: list[str] = []

    def route(route: sync_api.Route) -> None:
        url = route.request.url
        if url.startswith(f"{origin}/"):
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    return refused


def test_make_run_shows_a_newcomer_the_demo_offline(
    started: tuple[Started, subprocess.Popen[bytes]],
    browser: sync_api.Browser,
    tmp_path: Path,
) -> None:
    pages, process = started
    model = urlsplit(pages.model_url)
    assert model.hostname == "127.0.0.1"
    origin = f"{model.scheme}://{model.netloc}"
    assert pages.verify_url.startswith(f"{origin}/")
    assert pages.image.is_file(), pages.image
    image = pages.image.read_bytes()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused = _air_gapped(context, origin)
    requests: list[sync_api.Request] = []
    context.on("request", lambda request: requests.append(request))
    page = context.new_page()

    # The model page: the demo model, its prod alias on 1.0.0.
    page.goto(pages.model_url)
    assert page.get_by_role("heading", level=1).inner_text() == "demo/tiny-add"
    prod = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="prod"))
    assert prod.count() == 1
    assert "1.0.0" in prod.inner_text()
    # ... and, in the versions table, 1.0.0 signed: verified, by the demo release key.
    version_row = (
        page.locator("#versions-title")
        .locator("xpath=..")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name="1.0.0"))
    )
    assert version_row.locator(".badge").first.inner_text() == "verified"
    assert "demo-release" in version_row.inner_text()
    page.screenshot(path=str(tmp_path / "model.png"), full_page=True)
    # One click on: the version, its signature verified by the registry.
    prod.get_by_role("link", name="1.0.0").click()
    page.wait_for_url("**/ui/demo/tiny-add/versions/1.0.0")
    signature = page.locator("tr.signature")
    assert signature.count() == 1
    assert signature.locator(".badge").first.inner_text() == "verified"
    assert "demo-release" in signature.inner_text()
    assert "prod" in page.locator("dl.facts").first.inner_text()

    # The verify page, given the printed image.
    page.goto(pages.verify_url)
    page.get_by_label("Image to check").set_input_files(pages.image)
    page.locator(
        "#verdict:is([data-state=registered], [data-state=refused], [data-state=unregistered])"
    ).wait_for()
    verdict = page.locator("#verdict")
    text = verdict.inner_text()
    assert verdict.get_attribute("data-state") == "registered", text
    assert "Registered: inclusion proof checked" in text
    assert re.search(r"^Creator\s+mailto:demo@example\.com$", text, re.MULTILINE), text
    assert re.search(r"^Model\s+demo/tiny-add@sha256:[0-9a-f]{64}$", text, re.MULTILINE), text
    assert re.search(r"^Model version\s+1\.0\.0$", text, re.MULTILINE), text
    assert re.search(r"^Inclusion proof\s+checked against", text, re.MULTILINE), text
    page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    # The guard itself: a request elsewhere (TEST-NET-1, no DNS needed) is refused. (A
    # navigation: the pages' Content-Security-Policy already stops their own fetches.)
    with pytest.raises(sync_api.Error, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(ELSEWHERE)
    context.close()

    # Offline: nothing but the control was asked of another host, and the image never left
    # the browser: it asked the hub by the digest it computed, with reads only.
    assert refused == [ELSEWHERE]
    asked = [r for r in requests if r.url != ELSEWHERE]
    digest = "sha256:" + hashlib.sha256(image).hexdigest()
    assert f"{origin}/api/v1/outputs/{digest}" in [r.url for r in asked]
    for request in asked:
        assert request.url.startswith((f"{origin}/", f"blob:{origin}/")), request.url
        assert request.method == "GET", (request.method, request.url)
        body = request.post_data_buffer or b""
        assert image not in body and image[:64] not in body, request.url

    # SIGTERM to make reaches the server (the recipe execs it): both end, the port closes.
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGTERM  # make reports the signal, after its child
    deadline = time.monotonic() + 10
    while "Finished server process" not in (text := pages.log.read_text(errors="replace")):
        assert time.monotonic() < deadline, text
        time.sleep(0.1)
    assert "Application shutdown complete." in text
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{origin}/healthz", timeout=2)
