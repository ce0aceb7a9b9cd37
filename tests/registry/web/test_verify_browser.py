"""The provenance page (``/ui/-/verify``) in Debian's Chromium against a live hub.

The page hashes the image in the browser and checks the hub's answer there: these tests
watch the network to see the image never leave, alter the hub's answers in transit to see
each check refuse, and run the page's Merkle and checkpoint code over proofs made by the
registry's own log, next to the Python verifier.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.tlog import LogSigner
from registry.web.routes import VERIFY_PATH
from signing.provenance.c2pa_sign import sign_c2pa
from tests.registry.hub.conftest import png
from tests.registry.tlog.conftest import open_log
from tests.registry.web.hub_seed import (
    CREATOR,
    REPRINTER,
    Registered,
    hub_env,
    hub_keys,
    register_output,
)
from tests.support.browser import Screenshots, boxes, chromium, layout_shift, needs_chromium
from tests.support.c2pa_pki import make_c2pa_pki
from tests.support.live import running_server
from tests.support.tokens import issue
from verifier.transparency import VerifierKey, verify_receipt
from verifier.transparency.errors import LogError

pytestmark = needs_chromium

sync_api = pytest.importorskip("playwright.sync_api")

#: Tree sizes the agreement test takes proofs at (every index of each).
TREE_SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 13)
#: A cosigner of the log's checkpoints: its signature is neither required nor judged.
WITNESS = LogSigner("witness.example", Ed25519PrivateKey.generate())
#: What a verifier must accept: the log's own receipts, with or without a witness's line.
ACCEPTED = ("real", "witness")
#: The check that refuses each alteration.
REFUSED_BY = {
    "proof hash": "inclusion proof",
    "proof shortened": "inclusion proof",
    "proof lengthened": "inclusion proof",
    "index": "inclusion proof",
    "leaf hash": "leaf hash",
    "entry": "leaf hash",
    "checkpoint text": "checkpoint signature",
    "same name, other key": "checkpoint signature",
    "forged signature": "checkpoint signature",
}


class Site:
    def __init__(self, base: str, registered: Registered, image: Path) -> None:
        self.base = base
        self.registered = registered
        self.image = image


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("verify-live")
    database = root / "custody.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    keys = hub_keys()
    image = png(seed=21, size=96)
    with running_server(root / "data", url, hub_env(root, keys)) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            registered = register_output(
                client, issue(url, "acme", "admin").secret, root, keys, image
            )
        path = root / "registered.png"
        path.write_bytes(image)
        yield Site(base, registered, path)


@pytest.fixture(scope="module")
def vectors(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, Any]:
    """Receipts from the registry's own log (``registry.tlog``) for every entry at each of
    ``TREE_SIZES``, with the entries' bytes and the log's verifier key."""
    root = tmp_path_factory.mktemp("verify-vectors")
    shutil.copyfile(sqlite_template, root / "log.db")

    async def build() -> dict[str, Any]:
        found: list[dict[str, Any]] = []
        async with open_log(f"sqlite:///{root / 'log.db'}", root / "tlog.key") as tlog:
            bodies: list[str] = []
            for size in TREE_SIZES:
                while len(bodies) < size:
                    body = json.dumps({"type": "test", "n": len(bodies)})
                    await tlog.append(body.encode())
                    bodies.append(body)
                for index in range(size):
                    receipt = (await tlog.receipt(index)).to_json()
                    assert receipt["treeSize"] == size
                    found.append({"receipt": receipt, "entry": bodies[index]})
            return {"key": tlog.verifier_key, "vectors": found}

    return asyncio.run(build())


@pytest.fixture(scope="module")
def browser(site: Site, vectors: dict[str, Any]) -> Iterator[sync_api.Browser]:
    """Started after the live site and the log vectors (Playwright's sync API keeps an
    event loop running in this thread)."""
    with chromium() as launched:
        yield launched


def _verdict(page: sync_api.Page) -> sync_api.Locator:
    done = "#verdict:is([data-state=registered], [data-state=unregistered], [data-state=refused])"
    page.locator(done).wait_for()
    return page.locator("#verdict")


#: What must not move when the answers arrive: both result boxes and what follows them.
STILL = ("#verdict", "#c2pa", "footer")


def _settled(page: sync_api.Page) -> None:
    """Both answers are in: the verdict, and the Content Credentials box's."""
    _verdict(page)
    page.locator("#c2pa:not([data-state=idle]):not([data-state=checking])").wait_for()


def _assert_nothing_moved(page: sync_api.Page, before: dict[str, Any]) -> None:
    """No layout shift when the answers arrived, even where the viewport did not look."""
    assert boxes(page, *STILL) == before
    assert layout_shift(page) < 0.1


def test_a_registered_image_is_attributed_without_leaving_the_browser(
    browser: sync_api.Browser, site: Site, screenshots: Screenshots
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[sync_api.Request] = []
    context.on("request", lambda request: requests.append(request))
    page = context.new_page()
    page.goto(f"{site.base}{VERIFY_PATH}")
    before = boxes(page, *STILL)
    page.get_by_label("Image to check").set_input_files(site.image)
    _settled(page)
    _assert_nothing_moved(page, before)
    verdict = _verdict(page)
    text = verdict.inner_text()
    assert verdict.get_attribute("data-state") == "registered", text
    assert "Registered: inclusion proof checked" in text
    gen = site.registered.generation
    assert CREATOR in text and gen.digest in text and "CC-BY-NC-4.0" in text
    assert "attribution, non-commercial" in text
    assert site.registered.model in text and "verifies under the registry's trust policy" in text
    assert "4 signed latent records" in text and "edge-01" in text
    assert REPRINTER in text
    assert "fetched from this hub, not pinned" in text
    screenshots.take(page, "verify.png", full_page=True)  # after the shift was measured

    image = site.image.read_bytes()
    assert requests
    for request in requests:
        # blob:<this origin>: the C2PA reader's worker, made from the page's own module.
        assert request.url.startswith((f"{site.base}/", f"blob:{site.base}/")), request.url
        assert request.method == "GET", (request.method, request.url)
        body = request.post_data_buffer or b""
        assert image not in body and image[:64] not in body
    asked = [r.url for r in requests if "/api/v1/" in r.url]
    assert sorted(asked) == sorted(
        [f"{site.base}/api/v1/outputs/{gen.digest}", f"{site.base}/api/v1/log/key"]
    )
    context.close()


def test_a_pinned_log_key_is_used_and_a_wrong_one_refused(
    browser: sync_api.Browser, site: Site
) -> None:
    page = browser.new_page()
    page.goto(f"{site.base}{VERIFY_PATH}")
    key = httpx.get(f"{site.base}/api/v1/log/key").text.strip()
    page.get_by_text("Pin the log key").click()
    page.get_by_label("Log verifier key").fill(key)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.get_by_label("Image to check").set_input_files(site.image)
    text = _verdict(page).inner_text()
    assert "inclusion proof checked" in text and "(pinned)" in text
    assert not [u for u in requested if u.endswith("/api/v1/log/key")]

    other = LogSigner(key.split("+", 1)[0], Ed25519PrivateKey.generate()).verifier_key
    page.get_by_label("Log verifier key").fill(other)
    page.get_by_label("Image to check").set_input_files([])
    page.get_by_label("Image to check").set_input_files(site.image)
    verdict = _verdict(page)
    assert verdict.get_attribute("data-failed") == "checkpoint signature"
    assert "Refused: the checkpoint signature check failed" in verdict.inner_text()
    assert CREATOR not in verdict.inner_text()
    page.close()


def test_a_dropped_tampered_twin_is_not_registered(browser: sync_api.Browser, site: Site) -> None:
    image = bytearray(site.image.read_bytes())
    image[len(image) // 2] ^= 0x01  # one byte changed
    page = browser.new_page()
    page.goto(f"{site.base}{VERIFY_PATH}")
    transfer = page.evaluate_handle(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "twin.png", {type: "image/png"}));
            return transfer;
        }""",
        list(image),
    )
    page.locator("#verify-drop").dispatch_event("drop", {"dataTransfer": transfer})
    verdict = _verdict(page)
    text = verdict.inner_text()
    assert verdict.get_attribute("data-state") == "unregistered", text
    assert "Not registered: nothing is known about this image" in text
    assert CREATOR not in text and site.registered.generation.digest not in text
    page.close()


def _altered(change: Callable[[dict[str, Any]], None]) -> Callable[[sync_api.Route], None]:
    def handle(route: sync_api.Route) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, json=body)

    return handle


def _flip_hex(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


def _flip_proof(body: dict[str, Any]) -> None:
    body["receipt"]["inclusionProof"][0] = _flip_hex(body["receipt"]["inclusionProof"][0])


def _resize_checkpoint(body: dict[str, Any]) -> None:
    origin, size, rest = body["receipt"]["checkpoint"].split("\n", 2)
    body["receipt"]["checkpoint"] = f"{origin}\n{int(size) + 1}\n{rest}"
    body["receipt"]["treeSize"] = int(size) + 1


def _other_creator(body: dict[str, Any]) -> None:
    body["creator"] = "mallory@evil.example"


def _other_entry(body: dict[str, Any]) -> None:
    body["entry"] = body["entry"].replace('"kind"', '"kind" ', 1)


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        (_flip_proof, "inclusion proof"),
        (_resize_checkpoint, "checkpoint signature"),
        (_other_creator, "entry"),
        (_other_entry, "leaf hash"),
    ],
)
def test_a_hub_answer_altered_in_transit_is_refused(
    browser: sync_api.Browser,
    site: Site,
    change: Callable[[dict[str, Any]], None],
    failed: str,
) -> None:
    page = browser.new_page()
    page.route("**/api/v1/outputs/**", _altered(change))
    page.goto(f"{site.base}{VERIFY_PATH}")
    page.get_by_label("Image to check").set_input_files(site.image)
    verdict = _verdict(page)
    text = verdict.inner_text()
    assert verdict.get_attribute("data-failed") == failed, text
    assert f"Refused: the {failed} check failed" in text
    assert verdict.locator("dl").count() == 0  # none of the hub's answer is shown as fact
    page.close()


def test_readable_on_a_phone_and_usable_from_the_keyboard(
    browser: sync_api.Browser, site: Site, screenshots: Screenshots
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{site.base}{VERIFY_PATH}")
    before = boxes(page, *STILL)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "verify-image":
            break
    assert page.evaluate("document.activeElement.id") == "verify-image"
    # Space on the focused input opens the chooser; headless Chromium now and then drops the
    # first key press while the page's module is still starting, so it is pressed again.
    for attempt in range(3):
        try:
            with page.expect_file_chooser(timeout=5_000) as chooser:
                page.keyboard.press("Space")
            break
        except sync_api.TimeoutError:
            assert attempt < 2, "Space on the focused file input never opened the chooser"
            page.focus("#verify-image")
    chooser.value.set_files(site.image)
    _settled(page)
    _assert_nothing_moved(page, before)
    assert "inclusion proof checked" in _verdict(page).inner_text()
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    # The verdict fills a phone's screen: the picture shows its top.
    page.locator("#verdict").evaluate("(node) => node.scrollIntoView()")
    screenshots.take(page, "verify-phone.png")
    context.close()


# -- the page's code against the registry's log -------------------------------------------


def _variants(vector: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The real receipt, and altered copies that must each be refused."""
    receipt = vector["receipt"]
    out: list[tuple[str, dict[str, Any]]] = [("real", vector)]

    def altered(name: str, edit: Callable[[dict[str, Any]], None]) -> None:
        changed = copy.deepcopy(vector)
        edit(changed)
        out.append((name, changed))

    if receipt["inclusionProof"]:
        altered("proof hash", lambda v: v["receipt"]["inclusionProof"].__setitem__(
            -1, _flip_hex(v["receipt"]["inclusionProof"][-1])))  # fmt: skip
        altered("proof shortened", lambda v: v["receipt"]["inclusionProof"].pop())
    altered("proof lengthened", lambda v: v["receipt"]["inclusionProof"].append("00" * 32))
    if receipt["treeSize"] > 1:
        altered("index", lambda v: v["receipt"].__setitem__(
            "logIndex", (receipt["logIndex"] + 1) % receipt["treeSize"]))  # fmt: skip
    altered("leaf hash", lambda v: v["receipt"].__setitem__("leafHash", _flip_hex(
        receipt["leafHash"])))  # fmt: skip
    altered("entry", lambda v: v.__setitem__("entry", v["entry"] + " "))
    altered("checkpoint text", lambda v: v["receipt"].__setitem__(
        "checkpoint", v["receipt"]["checkpoint"].replace("\n", "\n\n", 1)))  # fmt: skip
    note = receipt["checkpoint"]
    text, signature = note.split("\n\n", 1)
    name = text.split("\n", 1)[0]
    cosigned = WITNESS.sign_note(text + "\n").split("\n\n", 1)[1]
    altered("witness", lambda v: v["receipt"].__setitem__("checkpoint", note + cosigned))
    impostor = LogSigner(name, Ed25519PrivateKey.generate()).sign_note(text + "\n")
    altered("same name, other key", lambda v: v["receipt"].__setitem__("checkpoint", impostor))
    prefix, blob = signature.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    forged = f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    altered("forged signature", lambda v: v["receipt"].__setitem__("checkpoint", forged))
    return out


def _python_accepts(key: VerifierKey, vector: dict[str, Any]) -> bool:
    try:
        verify_receipt(vector["receipt"], key, entry=vector["entry"].encode())
    except LogError:
        return False
    return True


def test_the_page_and_the_python_verifier_agree_on_the_logs_proofs(
    browser: sync_api.Browser, site: Site, vectors: dict[str, Any]
) -> None:
    key = VerifierKey.parse(vectors["key"])
    cases = [(name, v) for vector in vectors["vectors"] for name, v in _variants(vector)]
    page = browser.new_page()
    page.goto(f"{site.base}{VERIFY_PATH}")
    verdicts = page.evaluate(
        """async ([keyText, cases]) => {
            const m = await import("/ui/-/static/verify.js");
            const key = await m.parseVerifierKey(keyText);
            const encoder = new TextEncoder();
            const out = [];
            for (const [, v] of cases) {
                try {
                    await m.verifyReceipt(v.receipt, key, encoder.encode(v.entry));
                    out.push("ok");
                } catch (error) {
                    const named = error.name === "CheckFailed";
                    out.push(named ? "refused:" + error.check : "crash:" + error);
                }
            }
            // The building blocks, directly: RFC 9162's hashes of known inputs.
            const leaf = m.toHex(await m.leafHash(encoder.encode("abc")));
            const node = m.toHex(await m.nodeHash(new Uint8Array(32), new Uint8Array(32).fill(1)));
            return {out, leaf, node};
        }""",
        [vectors["key"], cases],
    )
    page.close()
    from registry.tlog.tree import hash_children, hash_leaf

    assert verdicts["leaf"] == hash_leaf(b"abc").hex()
    assert verdicts["node"] == hash_children(bytes(32), bytes([1]) * 32).hex()
    results = verdicts["out"]
    assert len(results) == len(cases)
    real = [r for (name, _), r in zip(cases, results, strict=True) if name == "real"]
    assert len(real) == sum(TREE_SIZES) and set(real) == {"ok"}
    for (name, case), result in zip(cases, results, strict=True):
        assert not result.startswith("crash"), (name, result)
        assert (result == "ok") == _python_accepts(key, case), (name, case["receipt"], result)
        expected = "ok" if name in ACCEPTED else f"refused:{REFUSED_BY[name]}"
        assert result == expected, (name, result)


def test_without_the_hubs_c2pa_trust_list_credentials_are_validated_but_not_trusted_here(
    browser: sync_api.Browser, site: Site, tmp_path: Path
) -> None:
    """This hub has no CUSTODY_C2PA_TRUST_ANCHORS: the page validates the manifest and says
    that trust is the hub's to check (it has no list to check it against)."""
    signed = sign_c2pa(
        png(seed=41, size=48),
        "image/png",
        make_c2pa_pki().signer(),
        model_reference="registry.example/acme/painter@sha256:" + "cd" * 32,
    )
    image = tmp_path / "credentialed.png"
    image.write_bytes(signed)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.base}{VERIFY_PATH}")
    page.get_by_label("Image to check").set_input_files(image)
    box = page.locator("#c2pa")
    page.locator("#c2pa:not([data-state=idle]):not([data-state=checking])").wait_for()
    text = box.inner_text()
    assert box.get_attribute("data-state") == "valid", text
    assert "Valid; trust not checked here" in text and "trust is the hub's to check" in text
    assert "Custody C2PA Signer" in text and "c2pa.created" in text
    assert _verdict(page).get_attribute("data-state") == "unregistered"
    context.close()
