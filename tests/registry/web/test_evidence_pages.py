"""Evidence on the provenance graph and the log-entry page, over plain HTTP on both engines:
each node's verdict and log link, tampered records showing the failed check, a proof the
page says verifies (and one it says does not), and bad indexes answered as pages."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Connection, text

from registry.db.engine import create_sync_engine
from registry.services import services_of
from registry.settings import Settings
from registry.web.routes import LOG_PATH, OUTPUTS_PATH
from tests.registry.web.hub_seed import REPRINTER, Registered
from tests.registry.web.test_more_pages import hub_client  # noqa: F401 - the fixture
from tests.registry.web.test_pages import assert_served_locally, text_of


def _leaf(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 2.1.3.2, written here again so the test does not trust the code under test."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        assert sn != 0, "the path is longer than the tree is deep"
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0, "the path is shorter than the tree is deep"
    return r


@contextmanager
def _database(settings: Settings) -> Iterator[Connection]:
    engine = create_sync_engine(str(settings.database.url))
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def _evidence(client: TestClient, image: str) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    response = client.get(f"/api/v1/outputs/{image}")
    assert response.status_code == 200, response.text
    evidence: list[dict[str, Any]] = response.json()["evidence"]
    return evidence


def test_every_node_shows_its_verdict_and_signer_and_links_its_log_entry(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
) -> None:
    client, registered = hub_client
    image = registered.generation.digest
    api = client.get(f"/api/v1/outputs/{image}").json()
    evidence = api["evidence"]
    # The API is the source: model, every latent record root first, output, reprint.
    assert [e["node"] for e in evidence] == ["model"] + ["latent"] * 4 + ["output", "reprint"]
    model, *latents, output, reprint = evidence
    assert model["verdict"]["outcome"] == "verified" and model["verdict"]["checked"] == "now"
    assert model["verdict"]["signer"] and model["log_index"] is None
    assert [e["step"] for e in latents] == [0, 1, 2, 3]
    assert [e["subject"] for e in latents][-1] == api["chain"]["head"]
    for latent in latents:
        assert latent["verdict"]["outcome"] == "verified"
        assert latent["verdict"]["signer"] in api["chain"]["nodes"]
        assert latent["log_index"] is None  # bound by the output's entry, not logged alone
    assert output["verdict"]["outcome"] == "verified" and output["log_index"] == api["log_index"]
    assert output["verdict"]["signer"] == api["creator"]
    assert reprint["verdict"]["outcome"] == "unsigned"
    assert reprint["log_index"] == api["reprints"][0]["log_index"]

    page = client.get(f"{OUTPUTS_PATH}/{image}")  # anonymous, as the API
    assert page.status_code == 200, page.text
    html, body = page.text, text_of(page.text)
    assert f"Signature verified by {model['verdict']['signer']}" in body
    rows = re.findall(r'<tr class="record">(.*?)</tr>', html, re.S)
    assert len(rows) == 4
    for row, latent in zip(rows, latents, strict=True):
        row_text = text_of(row)
        assert latent["subject"] in row and f"verified by {latent['verdict']['signer']}" in row_text
    assert f"Signature verified by {api['creator']}" in body
    reprint_text = text_of(re.search(r'<li class="reprint">(.*?)</li>', html, re.S).group(1))  # type: ignore[union-attr]
    assert REPRINTER in reprint_text and "unsigned" in reprint_text
    # Each logged node links to its log-entry page, which answers.
    links = re.findall(rf'href="{LOG_PATH}/(\d+)"', html)
    assert {int(i) for i in links} == {api["log_index"], api["reprints"][0]["log_index"]}
    assert client.get(f"{LOG_PATH}/{api['reprints'][0]['log_index']}").status_code == 200


def test_a_tampered_record_or_a_failed_signature_shows_the_failed_check(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
    settings: Settings,
) -> None:
    client, registered = hub_client
    image = registered.generation.digest
    with _database(settings) as connection:
        # The row no longer says what was logged; the model's signature verdict now failed.
        connection.execute(text("UPDATE hub_outputs SET creator = 'mallory@evil.example'"))
        connection.execute(
            text(
                "UPDATE signature_verifications SET outcome = 'failed', signer = NULL, "
                "failed_check = 'signature-invalid', reason = 'the bundle was replaced'"
            )
        )
    services_of(client.app).hub.status_cache.clear()
    model, *_, output, reprint = _evidence(client, image)
    assert model["verdict"]["outcome"] == "failed"
    assert model["verdict"]["failed_check"] == "signature-invalid"
    assert output["verdict"]["outcome"] == "failed"
    assert output["verdict"]["failed_check"] == "log-entry-mismatch"
    assert "creator" in str(output["verdict"]["reason"])
    assert reprint["verdict"]["outcome"] == "unsigned"  # its own entry still matches

    body = text_of(client.get(f"{OUTPUTS_PATH}/{image}").text)
    assert "failed failed check signature-invalid" in body
    assert "the bundle was replaced" in body
    assert "failed failed check log-entry-mismatch by mallory@evil.example" in body


def test_a_reprint_whose_leaf_hash_was_changed_fails_its_check(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
    settings: Settings,
) -> None:
    client, registered = hub_client
    with _database(settings) as connection:
        connection.execute(text("UPDATE hub_reprints SET leaf_hash = :h"), {"h": "ab" * 32})
    *_, reprint = _evidence(client, registered.generation.digest)
    assert reprint["verdict"]["failed_check"] == "leaf-hash-mismatch"
    body = text_of(client.get(f"{OUTPUTS_PATH}/{registered.generation.digest}").text)
    assert "failed check leaf-hash-mismatch" in body


def _page_proof(html: str) -> tuple[int, bytes, list[bytes], bytes]:
    size = int(re.search(r'id="tree-size">(\d+)<', html).group(1))  # type: ignore[union-attr]
    leaf = re.search(r'id="leaf-hash">([0-9a-f]{64})<', html).group(1)  # type: ignore[union-attr]
    root = re.search(r'id="root-hash">([0-9a-f]{64})<', html).group(1)  # type: ignore[union-attr]
    path_html = re.search(r'id="audit-path">(.*?)</ol>', html, re.S)
    path = re.findall(r"[0-9a-f]{64}", path_html.group(1)) if path_html else []
    return size, bytes.fromhex(leaf), [bytes.fromhex(h) for h in path], bytes.fromhex(root)


def test_the_log_page_shows_a_proof_that_verifies_against_the_signed_checkpoint(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
) -> None:
    client, registered = hub_client
    api = client.get(f"/api/v1/outputs/{registered.generation.digest}").json()
    for index, kind in (
        (api["log_index"], "registration"),
        (api["reprints"][0]["log_index"], "reprint"),
    ):
        page = client.get(f"{LOG_PATH}/{index}")  # public, as the log API
        assert page.status_code == 200, page.text
        html, body = page.text, text_of(page.text)
        assert f"Transparency log entry {index}" in body and f"Kind {kind}" in body
        assert "verified The leaf hash of these bytes" in body
        assert registered.generation.digest in html

        size, leaf, path, root = _page_proof(html)
        entry = client.get(f"/api/v1/log/entries?start={index}&end={index + 1}").json()
        logged = base64.b64decode(entry["entries"][0]["body"])
        assert leaf == _leaf(logged)
        shown = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", html, re.S)
        assert html_lib.unescape(shown[0]) == logged.decode()
        # Recomputed here from the page's own audit path: a wrong path or root fails this.
        assert _root_from_path(index, size, leaf, path) == root
        note = client.get("/api/v1/log/checkpoint").text
        origin, signed_size, signed_root = note.split("\n")[:3]
        assert int(signed_size) == size and base64.b64decode(signed_root) == root
        assert html_lib.unescape(shown[1]) == note
        # The JSON links are there, and say the same.
        found = re.search(r'href="(/api/v1/log/proof/inclusion[^"]*)"', html)
        assert found is not None
        proof_link = html_lib.unescape(found.group(1))
        proof = client.get(proof_link).json()
        assert (
            proof["treeSize"] == size
            and [bytes.fromhex(h) for h in proof["inclusionProof"]] == path
        )
        for href in (
            "/api/v1/log/checkpoint",
            "/api/v1/log/key",
            f"/api/v1/log/entries?start={index}&amp;end={index + 1}",
        ):
            assert f'href="{href}"' in html
        assert origin in html


def test_a_proof_that_does_not_lead_to_the_root_is_shown_failed(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
    settings: Settings,
) -> None:
    client, _ = hub_client
    # Two entries: entry 0's audit path is entry 1's leaf node, which no checkpoint root is
    # read from. Change it (behind the append-only triggers) and the proof breaks.
    postgres = str(settings.database.url).startswith("postgresql")
    with _database(settings) as connection:
        if postgres:
            connection.execute(
                text("ALTER TABLE tlog_nodes DISABLE TRIGGER tlog_nodes_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER tlog_nodes_no_update"))
        connection.execute(
            text("UPDATE tlog_nodes SET hash = :h WHERE node_id = 1"), {"h": b"\x07" * 32}
        )
        if postgres:
            connection.execute(text("ALTER TABLE tlog_nodes ENABLE TRIGGER tlog_nodes_append_only"))
    page = client.get(f"{LOG_PATH}/0")
    assert page.status_code == 200, page.text
    body = text_of(page.text)
    assert "failed failed check inclusion" in body and "verified The leaf hash" not in body
    size, leaf, path, root = _page_proof(page.text)
    assert _root_from_path(0, size, leaf, path) != root


@pytest.mark.parametrize(
    ("index", "status"),
    [
        ("-1", 400),
        ("abc", 400),
        ("1.5", 400),
        (str(2**63), 400),
        ("9" * 40, 400),
        (str(2**63 - 1), 404),
        ("1000", 404),
    ],
)
def test_a_bad_or_unknown_index_is_a_page_not_a_500(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
    index: str,
    status: int,
) -> None:
    client, _ = hub_client
    response = client.get(f"{LOG_PATH}/{index}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text


def test_the_evidence_pages_load_nothing_from_another_host(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]  # noqa: F811
) -> None:
    client, registered = hub_client
    assert_served_locally(
        client, [f"{OUTPUTS_PATH}/{registered.generation.digest}", f"{LOG_PATH}/0", f"{LOG_PATH}/1"]
    )
