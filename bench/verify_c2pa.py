"""Content Credentials on the provenance page: time to the C2PA verdict in the browser.

Against a real ``custody serve`` (SQLite) acting as a reprint hub with a C2PA trust list,
a PNG of random pixels signed with c2pa-python (a derivative with one signed parent, so
the ingredient is validated too) under a test PKI. In the same run, on the same image:

  - page, cold: ``/ui/-/verify`` loaded afresh in Debian's Chromium (Playwright), the
    image chosen, the clock stopped when the Content Credentials verdict is on the page:
    c2pa-web's ES modules from the browser's cache, the 8 MB WebAssembly compiled, the
    hub's anchors fetched, the worker started, the image read and validated;
  - page, warm: the same image chosen again on that page (the reader is already up);
    both with the page's own clock (``change`` event to verdict) and Python's wall clock;
  - reference: ``verifier.provenance.c2pa.verify_c2pa`` (c2pa-python, native c2pa-rs) in
    this process on the same bytes and anchors: what the hub does on intake.

Reported (no target): median(page) / median(reference) over ``--repeat`` rounds.

    python -m bench verify-c2pa [--repeat 5] [--pixels 512]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._server import custody_server
from bench.verify_page import random_png
from signing.provenance.c2pa_sign import sign_c2pa
from tests.registry.web.hub_seed import hub_env, hub_keys
from tests.support.browser import CHROMIUM, chromium
from tests.support.c2pa_pki import make_c2pa_pki
from verifier.provenance.c2pa import verify_c2pa

PNG = "image/png"
MODEL = "registry.example/acme/painter@sha256:" + "ab" * 32
_FINAL = (
    "valid",
    "untrusted",
    "invalid",
    "ingredient-invalid",
    "remote",
    "none",
    "unavailable",
    "error",
)
_DONE = "#c2pa:is(" + ", ".join(f"[data-state={s}]" for s in _FINAL) + ")"
#: The page's own clock, from the input's change event to the credentials' verdict.
_WATCH = """(final) => {
    const input = document.getElementById("verify-image");
    const box = document.getElementById("c2pa");
    window.__bench = {};
    input.addEventListener("change", () => { window.__bench = {start: performance.now()}; });
    new MutationObserver(() => {
        if (final.includes(box.dataset.state) && window.__bench.start !== undefined) {
            window.__bench.end = window.__bench.end || performance.now();
        }
    }).observe(box, {attributes: true});
}"""


def _choose(page: Any, image: Path) -> tuple[float, float, str]:
    page.evaluate("() => { document.getElementById('c2pa').dataset.state = 'idle'; }")
    started = time.perf_counter()
    page.set_input_files("#verify-image", image)
    page.locator(_DONE).wait_for(timeout=120_000)
    elapsed = time.perf_counter() - started
    clock = page.evaluate("window.__bench")
    state = str(page.locator("#c2pa").get_attribute("data-state"))
    return elapsed, (clock["end"] - clock["start"]) / 1000, state


def _page_round(page: Any, url: str, image: Path) -> tuple[float, float, float, float, str]:
    page.goto(f"{url}/ui/-/verify")
    page.evaluate(_WATCH, list(_FINAL))
    cold, cold_clock, state = _choose(page, image)
    page.set_input_files("#verify-image", [])
    warm, warm_clock, again = _choose(page, image)
    return cold, cold_clock, warm, warm_clock, state if state == again else f"{state}/{again}"


def _reference_once(data: bytes, anchors: bytes) -> float:
    started = time.perf_counter()
    verify_c2pa(data, PNG, anchors)
    return time.perf_counter() - started


def measure(repeat: int, pixels: int) -> dict[str, Any]:
    pki = make_c2pa_pki()
    parent = sign_c2pa(random_png(pixels), PNG, pki.signer(), model_reference=MODEL)
    data = sign_c2pa(
        random_png(pixels), PNG, pki.signer(), model_reference=MODEL, parents=[(parent, PNG)]
    )
    with tempfile.TemporaryDirectory(prefix="bench-verify-c2pa-") as scratch:
        root = Path(scratch)
        anchors = root / "anchors.pem"
        anchors.write_bytes(pki.anchors_pem)
        image = root / "image.png"
        image.write_bytes(data)
        env = {**hub_env(root, hub_keys()), "CUSTODY_C2PA_TRUST_ANCHORS": str(anchors)}
        rounds: list[tuple[float, float, float, float, str]] = []
        reference_s: list[float] = []
        with custody_server(root, env) as server, chromium() as browser:
            page = browser.new_page()
            _page_round(page, server.url, image)  # warm-up: the browser's HTTP cache
            _reference_once(data, pki.anchors_pem)  # and c2pa-python's cached context
            for _ in range(repeat):  # interleaved: both see the same machine load
                rounds.append(_page_round(page, server.url, image))
                reference_s.append(_reference_once(data, pki.anchors_pem))
    reference = statistics.median(reference_s)

    def median(index: int) -> float:
        return statistics.median(float(r[index]) for r in rounds)

    return {
        "image_bytes": len(data),
        "rounds": repeat,
        "verdicts": sorted({r[4] for r in rounds}),
        "page_cold_ms_median": round(median(0) * 1000, 1),
        "page_cold_own_clock_ms_median": round(median(1) * 1000, 1),
        "page_warm_ms_median": round(median(2) * 1000, 1),
        "page_warm_own_clock_ms_median": round(median(3) * 1000, 1),
        "c2pa_python_ms_median": round(reference * 1000, 1),
        "ratio_page_cold_vs_c2pa_python": round(median(0) / reference, 3),
        "ratio_page_warm_vs_c2pa_python": round(median(2) / reference, 3),
        "ratio_page_warm_own_clock_vs_c2pa_python": round(median(3) / reference, 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench verify-c2pa")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pixels", type=int, default=512, help="image side (512: ~800 KB)")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        print(f"verify-c2pa: {CHROMIUM} is missing (apt-get install chromium)")
        return 1
    figures = measure(args.repeat, args.pixels)
    print("verify page (choose a C2PA PNG -> credentials verdict) vs c2pa-python in process:")
    print(json.dumps(figures, indent=2))
    return 0 if figures["verdicts"] == ["valid"] else 1
