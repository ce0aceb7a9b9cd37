"""Content Credentials on the provenance page, read and validated in Debian's Chromium.

The page runs ``@contentauth/c2pa-web`` (c2pa-rs as WebAssembly, served by the registry
from ``make web-assets``) against the hub's C2PA trust anchors. Images are signed here with
c2pa-python (``signing.provenance.c2pa_sign``) under a test PKI; the hub's own validator
(``verifier.provenance.c2pa.verify_c2pa``) is asked the same question, and the page must
reach the same verdict.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa
import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from registry.web.routes import VERIFY_PATH
from signing.provenance.c2pa_sign import TRAINED_ALGORITHMIC_MEDIA, sign_c2pa
from tests.registry.hub.conftest import png
from tests.registry.web.hub_seed import hub_env, hub_keys
from tests.registry.web.test_verify_browser import STILL, _assert_nothing_moved
from tests.support.browser import Screenshots, boxes, chromium, needs_chromium
from tests.support.c2pa_pki import C2paPki, make_c2pa_pki, png_chunk, png_chunks, png_from
from tests.support.live import running_server
from verifier.provenance.c2pa import verify_c2pa
from verifier.provenance.errors import (
    C2paIngredientInvalid,
    C2paRemoteManifest,
    C2paUntrustedSigner,
)

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")

PNG = "image/png"
VENDOR = Path(__file__).resolve().parents[3] / "registry" / "web" / "static" / "vendor" / "c2pa"
#: A pinned model reference for the Custody assertion (the page does not look it up).
MODEL = "registry.example/acme/painter@sha256:" + "ab" * 32
#: Where the remote-manifest image says its credentials are (nothing listens: port 9).
REMOTE = "http://127.0.0.1:9/manifest.c2pa"


@dataclass(frozen=True)
class Images:
    signed: Path
    tampered_parent: Path
    untrusted: Path
    plain: Path
    remote: Path


def signed_png(pki: C2paPki, seed: int, parents: list[tuple[bytes, str]] | None = None) -> bytes:
    return sign_c2pa(
        png(seed=seed, size=48),
        PNG,
        pki.signer(),
        model_reference=MODEL,
        parents=parents or [],
        generator="custody-test-generator",
    )


def remote_manifest(pki: C2paPki) -> bytes:
    """Credentials not embedded: the image only names a URL to fetch its manifest from."""
    signer = pki.signer()
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in signer.chain)
    created = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    definition = {
        "claim_generator_info": [{"name": "elsewhere"}],
        "title": "remote",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [created]}}],
    }
    out = io.BytesIO()
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with c2pa.Builder(definition, context=context) as builder:
        builder.set_no_embed()
        builder.set_remote_url(REMOTE)
        alg = c2pa.C2paSigningAlg.ES256
        with c2pa.Signer.from_callback(signer.sign, alg, chain.decode(), None) as c2pa_signer:
            builder.sign(c2pa_signer, PNG, io.BytesIO(png(seed=35, size=48)), out)
    return out.getvalue()


def tampered_derivative(pki: C2paPki) -> bytes:
    """A derivative whose parent was changed after it was signed (one chunk added): its own
    manifest validates; the parent ingredient's recorded results carry the failure."""
    chunks = png_chunks(signed_png(pki, seed=31))
    extra = (b"tEXt", png_chunk(b"tEXt", b"Comment\x00tampered"))
    parent = png_from([*chunks[:-1], extra, chunks[-1]])
    return signed_png(pki, seed=32, parents=[(parent, PNG)])


@pytest.fixture(scope="module")
def pki() -> C2paPki:
    return make_c2pa_pki()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory, pki: C2paPki) -> Images:
    root = tmp_path_factory.mktemp("c2pa-images")
    made = {
        "signed": signed_png(pki, seed=30),
        "tampered_parent": tampered_derivative(pki),
        "untrusted": signed_png(make_c2pa_pki(name="Stranger Signer"), seed=33),
        "plain": png(seed=34, size=48),
        "remote": remote_manifest(pki),
    }
    for name, data in made.items():
        (root / f"{name}.png").write_bytes(data)
    return Images(**{name: root / f"{name}.png" for name in made})


@pytest.fixture(scope="module")
def base(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, pki: C2paPki
) -> Iterator[str]:
    if not (VENDOR / "index.js").is_file():
        pytest.fail("the C2PA reader is not vendored: run `make web-assets` (needs npm)")
    root = tmp_path_factory.mktemp("verify-c2pa")
    database = root / "custody.db"
    shutil.copyfile(sqlite_template, database)
    anchors = root / "c2pa-anchors.pem"
    anchors.write_bytes(pki.anchors_pem)
    env = {**hub_env(root, hub_keys()), "CUSTODY_C2PA_TRUST_ANCHORS": str(anchors)}
    with running_server(root / "data", f"sqlite:///{database}", env) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[sync_api.Browser]:
    with chromium() as launched:
        yield launched


def _credentials(page: sync_api.Page) -> sync_api.Locator:
    page.locator("#c2pa:not([data-state=idle]):not([data-state=checking])").wait_for(
        timeout=120_000
    )
    page.locator("#verdict:not([data-state=idle]):not([data-state=checking])").wait_for()
    return page.locator("#c2pa")


#: The viewports the page is checked at.
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}


def _drop(
    browser: sync_api.Browser,
    base: str,
    image: Path,
    shot: tuple[Screenshots, str, bool] | None = None,
    device: dict[str, Any] = DESKTOP,
) -> tuple[str, str, list[str]]:
    """The credentials box's state and text after choosing ``image``, and every request;
    whatever the answers, their arrival moved nothing on the page."""
    context = browser.new_context(**device)
    requests: list[sync_api.Request] = []
    context.on("request", lambda request: requests.append(request))
    page = context.new_page()
    page.goto(f"{base}{VERIFY_PATH}")
    before = boxes(page, *STILL)
    page.get_by_label("Image to check").set_input_files(image)
    box = _credentials(page)
    _assert_nothing_moved(page, before)
    state, text = str(box.get_attribute("data-state")), box.inner_text()
    verdict = page.locator("#verdict").get_attribute("data-state")
    assert verdict == "unregistered", page.locator("#verdict").inner_text()
    if shot is not None:
        screenshots, name, docs = shot
        screenshots.take(page, name, full_page=True, docs=docs)
    data = image.read_bytes()
    for request in requests:
        body = request.post_data_buffer or b""
        assert data not in body and data[:64] not in body, request.url
        assert request.method == "GET", (request.method, request.url)
    urls = [r.url for r in requests]
    context.close()
    return state, text, urls


def test_content_credentials_are_validated_in_the_browser(
    browser: sync_api.Browser, base: str, images: Images, pki: C2paPki, screenshots: Screenshots
) -> None:
    hub = verify_c2pa(images.signed.read_bytes(), PNG, pki.anchors_pem)  # the hub accepts it
    state, text, urls = _drop(browser, base, images.signed, (screenshots, "verify-c2pa.png", True))
    assert state == "valid", text
    assert "Content Credentials valid" in text
    assert hub.signer_common_name == "Custody C2PA Signer" and hub.signer_common_name in text
    assert "custody-test-generator" in text
    assert "c2pa.created" in text and tuple(hub.actions) == ("c2pa.created",)
    assert "Trusted; trust checked here against this hub's C2PA trust list" in text
    # Every request went to the registry; the one other URL is the worker c2pa-web starts
    # from a blob of its own (served) module: a blob of this origin, not a network request.
    outside = [u for u in urls if not u.startswith(f"{base}/")]
    assert all(u.startswith(f"blob:{base}/") for u in outside), outside
    assert f"{base}/ui/-/static/vendor/c2pa/c2pa_bg.wasm" in urls  # the WASM is served by us
    assert f"{base}/ui/-/verify/c2pa-anchors.pem" in urls
    digest = [u for u in urls if "/api/v1/outputs/" in u]
    assert len(digest) == 1  # the hub was still asked by digest


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_tampered_ingredient_is_warned_about(
    browser: sync_api.Browser,
    base: str,
    images: Images,
    pki: C2paPki,
    screenshots: Screenshots,
    device: dict[str, Any],
) -> None:
    """The tallest answer the box holds (the phone's narrow column makes it taller still)."""
    with pytest.raises(C2paIngredientInvalid) as refused:
        verify_c2pa(images.tampered_parent.read_bytes(), PNG, pki.anchors_pem)
    name = "verify-c2pa-tampered.png" if device is DESKTOP else "verify-c2pa-tampered-phone.png"
    shot = (screenshots, name, False)  # the test's record, not a README picture
    state, text, _ = _drop(browser, base, images.tampered_parent, shot, device)
    assert state == "ingredient-invalid", text
    assert "Warning: an ingredient's Content Credentials failed validation" in text
    assert "parent (parentOf): FAILED" in text
    for code in refused.value.codes:  # the same failure codes the hub reports
        assert code in text


def test_an_untrusted_signer_is_not_trusted(
    browser: sync_api.Browser, base: str, images: Images, pki: C2paPki
) -> None:
    with pytest.raises(C2paUntrustedSigner):
        verify_c2pa(images.untrusted.read_bytes(), PNG, pki.anchors_pem)
    state, text, _ = _drop(browser, base, images.untrusted)
    assert state == "untrusted", text
    assert "signingCredential.untrusted" in text and "Stranger Signer" in text


def test_a_remote_manifest_is_not_fetched(
    browser: sync_api.Browser, base: str, images: Images, pki: C2paPki
) -> None:
    with pytest.raises(C2paRemoteManifest):
        verify_c2pa(images.remote.read_bytes(), PNG, pki.anchors_pem)
    state, text, urls = _drop(browser, base, images.remote)
    assert REMOTE not in urls
    assert state == "remote", text
    assert "fetching them is refused" in text


def test_an_image_without_credentials_says_so(
    browser: sync_api.Browser, base: str, images: Images
) -> None:
    state, text, _ = _drop(browser, base, images.plain)
    assert state == "none", text
    assert "No Content Credentials" in text


def test_the_verify_page_loads_only_from_the_registry(browser: sync_api.Browser, base: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"{base}{VERIFY_PATH}")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "default-src 'none'" in csp
    urls = page.eval_on_selector_all(
        "[src], [href], [action]", "nodes => nodes.map(n => n.src || n.href || n.action)"
    )
    assert urls and [u for u in urls if not u.startswith(f"{base}/")] == []
    context.close()


def test_the_hubs_anchors_are_served_read_only(base: str, pki: C2paPki) -> None:
    url = f"{base}{VERIFY_PATH}/c2pa-anchors.pem"
    served = httpx.get(url, timeout=30)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/x-pem-file")
    assert served.content == pki.anchors_pem
    assert httpx.post(url, content=b"x", timeout=30).status_code == 405


def test_without_the_reader_the_page_says_c2pa_reading_is_unavailable(
    browser: sync_api.Browser, base: str, images: Images
) -> None:
    """What a server set up without npm serves: no vendor/c2pa/ files (404)."""
    context = browser.new_context()
    context.route("**/vendor/c2pa/**", lambda route: route.fulfill(status=404, body="none"))
    page = context.new_page()
    page.goto(f"{base}{VERIFY_PATH}")
    page.get_by_label("Image to check").set_input_files(images.signed)
    box = _credentials(page)
    assert box.get_attribute("data-state") == "unavailable", box.inner_text()
    assert "C2PA reading is unavailable" in box.inner_text()
    # The digest check does not depend on it.
    assert page.locator("#verdict").get_attribute("data-state") == "unregistered"
    context.close()
