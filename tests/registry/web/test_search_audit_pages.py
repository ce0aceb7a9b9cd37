"""The namespace page's signer search and the audit page's pager, over plain HTTP (no
browser) on both engines: the page shows what ``GET /api/v1/versions`` and
``GET /api/v1/audit`` answer, with the same filters, cursors and rights."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import TestClient

from registry.http.params import MAX_INT64
from registry.web.routes import AUDIT_PATH
from signing.keys import key_id, load_public_key
from tests.registry.web.seed import FILES, Seeded
from tests.registry.web.test_pages import login, text_of
from tests.support.oci_client import Oci
from tests.support.policy_files import (
    PolicyFiles,
    attach_signature,
    push_version,
    sign_dir,
    write_model,
)
from tests.support.registry_helpers import bearer


def _bob_signs_2_0_0(client: Any, seeded: Seeded, policy: PolicyFiles, tmp: Any) -> None:
    oci = Oci(client, bearer(seeded.admin))
    model = write_model(tmp / "bob-model", {**FILES, "config.json": b'{"arch": "v2"}'})
    subject = push_version(oci, model, "2.0.0")
    assert attach_signature(oci, subject, sign_dir(model, policy.key("bob"))).status_code == 201


def _version_links(page: str) -> set[str]:
    hits = page.split('id="hits-title"', 1)[1].split("</section>", 1)[0]
    return set(re.findall(r'href="/ui/acme/model/versions/([^"]+)"', hits))


def test_the_namespace_page_finds_versions_by_signer(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
    policy: PolicyFiles,
    tmp_path: Any,
) -> None:
    _bob_signs_2_0_0(client, seeded, policy, tmp_path)
    login(client, seeded.reader)
    alice = key_id(load_public_key(policy.key("alice").with_suffix(".pub").read_bytes()))
    mallory = key_id(load_public_key(policy.key("mallory").with_suffix(".pub").read_bytes()))

    form = client.get("/ui/acme")
    assert 'name="signer"' in form.text and '<label for="signer">' in form.text

    by_name = client.get("/ui/acme", params={"signer": "bob"})
    assert by_name.status_code == 200
    assert _version_links(by_name.text) == {"2.0.0"}
    assert 'value="bob"' in by_name.text  # the form keeps what was typed
    by_key = client.get("/ui/acme", params={"signer": alice[:16]})
    assert _version_links(by_key.text) == {"1.0.0"}
    both = client.get("/ui/acme", params={"signer": alice, "license": "Apache-2.0"})
    assert _version_links(both.text) == {"1.0.0"}
    none = client.get("/ui/acme", params={"signer": "bob", "license": "Apache-2.0"})
    assert _version_links(none.text) == set()
    assert "No version in acme matches all of these" in text_of(none.text)
    # mallory's signature is attached to 1.0.0 but failed verification: not "signed by".
    untrusted = client.get("/ui/acme", params={"signer": mallory})
    assert _version_links(untrusted.text) == set()

    # The page lists what the API answers for the same search, narrowed the same way.
    api = client.get(
        "/api/v1/versions",
        params={"signer": "bob", "namespace": "acme"},
        headers=bearer(seeded.reader),
    ).json()
    assert {v["version"] for v in api["versions"]} == _version_links(by_name.text)


def test_a_bad_signer_search_is_a_400_page(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.reader)
    for bad in ({"signer": "x" * 513}, {"signer": "a\x00b"}):
        response = client.get("/ui/acme", params=bad)
        assert response.status_code == 400, bad
    # Wildcards are characters: they find nothing rather than everything.
    for wild in ("%", "_", "%%", "a%", "___"):
        page = client.get("/ui/acme", params={"signer": wild})
        assert page.status_code == 200 and _version_links(page.text) == set(), wild


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr class="event"><td>(\d+)</td>', page)]


def _link(page: str, rel_or_label: str) -> str | None:
    pattern = (
        rf'<a href="([^"]+)" rel="{rel_or_label}">'
        if rel_or_label in ("next", "prev")
        else rf'<a href="([^"]+)">{re.escape(rel_or_label)}</a>'
    )
    found = re.search(pattern, page)
    return html.unescape(found[1]) if found else None


def _moves(client: Any, seeded: Seeded, count: int) -> None:
    for i in range(count):  # two events each: alias.decision and alias.move
        moved = client.put(
            f"/api/v1/models/acme/model/aliases/a{i}",
            json={"version": "1.0.0"},
            headers=bearer(seeded.admin),
        )
        assert moved.status_code == 200


def test_the_audit_page_pages_both_ways_keeping_its_filters(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    _moves(client, seeded, 60)  # 61 alias.move events with the seed's: two pages of 50
    login(client, seeded.admin)
    filters = {"namespace": "acme", "action": "alias.move"}
    first = client.get(AUDIT_PATH, params=filters)
    assert first.status_code == 200
    assert _link(first.text, "prev") is None and _link(first.text, "First page (oldest)") is None
    next_link = _link(first.text, "next")
    assert next_link is not None
    assert "namespace=acme" in next_link and "action=alias.move" in next_link

    second = client.get(next_link)
    assert len(_ids(first.text)) == 50 and len(_ids(second.text)) == 11
    assert min(_ids(second.text)) > max(_ids(first.text))
    rows = re.findall(r'<tr class="event">.*?</tr>', second.text, re.S)
    assert rows and all("<code>alias.move</code>" in r for r in rows)
    assert _link(second.text, "next") is None  # exact: no link to an empty page
    prev_link = _link(second.text, "prev")
    assert prev_link is not None and "action=alias.move" in prev_link and "before=" in prev_link

    back = client.get(prev_link)
    assert _ids(back.text) == _ids(first.text)  # page 1, exactly
    assert _link(back.text, "prev") is None
    assert _link(back.text, "next") == next_link
    assert 'value="alias.move"' in back.text  # the form shows the filters in force

    newest = _link(first.text, "Last page (newest)")
    assert newest is not None and f"before={MAX_INT64}" in newest
    assert _ids(client.get(newest).text) == (_ids(first.text) + _ids(second.text))[-50:]
    assert _link(second.text, "First page (oldest)") is not None


def test_the_audit_page_keeps_time_filters_in_its_links(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    _moves(client, seeded, 30)
    login(client, seeded.admin)
    page = client.get(
        AUDIT_PATH, params={"since": "2000-01-01T00:00:00", "until": "2999-01-01T00:00:00"}
    )
    next_link = _link(page.text, "next")
    assert next_link is not None
    assert "since=2000-01-01T00%3A00%3A00" in next_link
    assert "until=2999-01-01T00%3A00%3A00" in next_link
    assert "namespace=acme" in next_link  # a namespace admin's default, made explicit
    prev_link = _link(client.get(next_link).text, "prev")
    assert prev_link is not None and "since=" in prev_link and "until=" in prev_link
    assert _ids(client.get(prev_link).text) == _ids(page.text)


@pytest.mark.parametrize("cursor", ["before=0", f"before={MAX_INT64 + 1}", "before=x"])
def test_a_bad_audit_cursor_is_a_400_page(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
    cursor: str,
) -> None:
    login(client, seeded.admin)
    assert client.get(f"{AUDIT_PATH}?{cursor}").status_code == 400
