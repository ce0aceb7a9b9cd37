"""The public provenance page over plain HTTP: served to anyone, loading nothing from
another host (the browser's own checks are in test_verify_browser.py)."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from registry.web.routes import STATIC_PATH, VERIFY_PATH


def test_the_page_and_its_script_are_served_to_anyone_from_this_origin(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    page = client.get(VERIFY_PATH)  # no session, no token
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp and "connect-src 'self'" in csp and "default-src 'none'" in csp
    )
    # The C2PA reader (ADR 0013, Decision 7): WebAssembly from our own static file, in a
    # worker made from its own module; still no other host and no other relaxation.
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "worker-src blob:;" in csp
    assert "://" not in csp and csp.count("unsafe") == 1
    other = client.get("/ui/-/login").headers["content-security-policy"]
    assert "wasm" not in other and "worker-src" not in other  # this page only
    assert page.headers["cache-control"] == "no-store"

    html = page.text
    assert '<label for="verify-image">' in html and 'id="verify-image" type="file"' in html
    assert 'aria-live="polite"' in html
    references = re.findall(r'(?:src|href|action)="([^"]*)"', html)
    assert f"{STATIC_PATH}/verify.js" in references
    assert all(r.startswith(("/", "#")) and not r.startswith("//") for r in references)

    script = client.get(f"{STATIC_PATH}/verify.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    source = script.text
    assert "crypto.subtle.digest" in source and '{ name: "Ed25519" }' in source
    assert "://" not in source  # no other host, no absolute address of this one
    assert not re.search(r"\bimport\b[^;]*\bfrom\b", source)  # no dependencies
    fetched = re.findall(r"fetch\(\s*([^,)]+)", source)
    assert fetched and all(f.startswith(('"/api/v1/', "`/api/v1/")) for f in fetched), fetched
    assert (
        "body:" not in source and "method:" not in source
    )  # nothing is ever posted: only digests travel, in URLs

    reader = client.get(f"{STATIC_PATH}/c2pa.js").text  # the C2PA part of the page
    assert "://" not in reader and "body:" not in reader and "method:" not in reader
    # Its one import: the vendored c2pa-web module, from this origin's static files.
    assert re.findall(r"import\((.*)\);", reader) == ['new URL("index.js", VENDOR).href']


def test_an_unknown_static_file_is_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get(f"{STATIC_PATH}/verify.wasm").status_code == 404


def test_without_c2pa_trust_anchors_none_are_served(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get(f"{VERIFY_PATH}/c2pa-anchors.pem").status_code == 404
