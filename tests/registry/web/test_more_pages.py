"""The provenance graph, audit, policies pages, the version page's TUF targets and outputs,
and the model page's alias form, over plain HTTP on both engines: rights (anonymous, pull,
admin, site admin), unknown things as 404 pages, refusals as pages."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import Settings
from registry.web.routes import AUDIT_PATH, OUTPUTS_PATH, POLICIES_PATH
from registry.web.session import _FORM_LABEL, COOKIE
from tests.registry.hub.conftest import png
from tests.registry.web.hub_seed import REPRINTER, Registered, hub_env, hub_keys, register_output
from tests.registry.web.seed import Seeded
from tests.registry.web.test_pages import LOGIN, SAME_ORIGIN, login, text_of
from tests.support.policy_files import PolicyFiles
from tests.support.registry_helpers import bearer
from tests.support.tokens import issue

MISSING = "sha256:" + "0" * 64


@pytest.fixture
def hub_client(settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Registered]]:  # type: ignore[type-arg]
    keys = hub_keys()
    env = hub_env(tmp_path, keys)
    configured = replace(
        settings,
        hub=replace(settings.hub, reprint_policy=Path(env["CUSTODY_REPRINT_POLICY"])),
        policies=replace(settings.policies, trust=Path(env["CUSTODY_TRUST_POLICY"])),
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as client:
        token = issue(settings.database.url, "acme", "admin").secret
        registered = register_output(client, token, tmp_path, keys, png(3))
        yield client, registered


def test_the_provenance_graph_is_public_and_links_each_node_to_its_evidence(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]
) -> None:
    client, registered = hub_client
    image = registered.generation.digest
    api = client.get(f"/api/v1/outputs/{image}").json()
    page = client.get(f"{OUTPUTS_PATH}/{image}")  # anonymous
    assert page.status_code == 200, page.text
    html, body = page.text, text_of(page.text)
    version = api["model"]["version"]
    assert f'href="/ui/acme/sd/versions/{version}"' in html
    assert "verified" in body and "Latent steps" in body
    for node in api["chain"]["nodes"]:
        assert node in body
    assert f"Records {api['chain']['records']}" in body
    assert api["chain"]["sampler"] in body
    # The output's and the reprint's log entries, each with its inclusion proof.
    proofs = re.findall(r'href="(/api/v1/log/proof/inclusion\?index=(\d+))"', html)
    indexes = [int(i) for _, i in proofs]
    assert indexes == [api["log_index"], api["reprints"][0]["log_index"]]
    assert REPRINTER in body
    for link, index in proofs:
        proof = client.get(link)
        assert proof.status_code == 200 and proof.json()["logIndex"] == int(index)
    # Drawn server-side: an inline SVG with a title, no script, nothing from elsewhere.
    assert "<svg" in html and 'role="img"' in html and "<title" in html
    assert "://" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", html)


def test_an_unknown_or_malformed_output_is_a_page_not_a_500(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]
) -> None:
    client, _ = hub_client
    unknown = client.get(f"{OUTPUTS_PATH}/{MISSING}")
    assert unknown.status_code == 404 and "not registered" in text_of(unknown.text)
    assert unknown.headers["content-type"].startswith("text/html")
    bad = client.get(f"{OUTPUTS_PATH}/sha256:nothex")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")


def test_the_version_page_lists_its_tuf_targets_and_its_outputs(
    hub_client: tuple[TestClient, Registered],  # type: ignore[type-arg]
) -> None:
    client, registered = hub_client
    version = client.get(f"/api/v1/outputs/{registered.generation.digest}").json()["model"][
        "version"
    ]
    page = f"/ui/acme/sd/versions/{version}"
    assert client.get(page, follow_redirects=False).status_code == 303  # acme is private
    login(client, registered.token)
    html = client.get(page).text
    assert f"<code>acme/sd/{version}/@manifest</code>" in html
    assert re.search(rf"<code>acme/sd/{re.escape(version)}/[^@<][^<]*</code>", html)
    assert f'href="{OUTPUTS_PATH}/{registered.generation.digest}"' in html
    assert "No output of this version" not in text_of(html)


def test_the_version_page_names_the_alias_targets(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.reader)
    body = text_of(client.get("/ui/acme/model/versions/1.0.0").text)
    assert "acme/model/1.0.0/@manifest manifest" in body
    assert "acme/model/@alias/staging alias" in body
    assert "No output of this version is registered" in body


def test_the_audit_page_has_the_api_rights_and_filters(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
    database_url: str,
) -> None:
    anonymous = client.get(AUDIT_PATH, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(LOGIN)

    login(client, seeded.reader)
    assert client.get(AUDIT_PATH).status_code == 403

    login(client, seeded.admin)
    own = client.get(AUDIT_PATH)  # a namespace admin's default: their namespace
    assert own.status_code == 200
    assert "alias.move" in own.text and 'value="acme"' in own.text
    assert "public/demo" not in own.text
    assert client.get(AUDIT_PATH, params={"namespace": "public"}).status_code == 403
    moves = client.get(AUDIT_PATH, params={"namespace": "acme", "action": "alias.move"})
    rows = re.findall(r'<tr class="event">.*?</tr>', moves.text, re.S)
    assert rows and all("<code>alias.move</code>" in r for r in rows)
    decisions = client.get(AUDIT_PATH, params={"action": "alias.decision"}).text
    assert "<strong>allowed</strong>: <code>true</code>" in decisions  # JSON, not Python
    future = client.get(AUDIT_PATH, params={"since": "2999-01-01T00:00:00"})

    assert "No events match" in text_of(future.text)
    past = client.get(AUDIT_PATH, params={"until": "2000-01-01T00:00:00"})
    assert "No events match" in text_of(past.text)
    assert client.get(AUDIT_PATH, params={"since": "yesterday"}).status_code == 400

    login(client, issue(database_url, "*", "admin").secret)
    everything = client.get(AUDIT_PATH)
    assert everything.status_code == 200
    assert "acme/model" in everything.text and "public/demo" in everything.text


def test_the_audit_page_pages(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    for i in range(30):  # 60 more events: alias.decision + alias.move each
        moved = client.put(
            f"/api/v1/models/acme/model/aliases/a{i}",
            json={"version": "1.0.0"},
            headers=bearer(seeded.admin),
        )
        assert moved.status_code == 200
    login(client, seeded.admin)
    first = client.get(AUDIT_PATH, params={"namespace": "acme"})
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link
    second = client.get(next_link[1].replace("&amp;", "&"))
    assert second.status_code == 200
    ids = [int(i) for i in re.findall(r'<tr class="event"><td>(\d+)</td>', first.text)]
    later = [int(i) for i in re.findall(r'<tr class="event"><td>(\d+)</td>', second.text)]
    assert len(ids) == 50 and later and min(later) > max(ids)
    assert "First page" in second.text


def test_the_policies_page_is_for_site_admins(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
    database_url: str,
    policy: PolicyFiles,
) -> None:
    assert client.get(POLICIES_PATH, follow_redirects=False).status_code == 303
    login(client, seeded.admin)
    assert client.get(POLICIES_PATH).status_code == 403
    site = issue(database_url, "*", "admin").secret
    login(client, site)
    page = client.get(POLICIES_PATH)
    assert page.status_code == 200
    api = client.get("/api/v1/policies", headers=bearer(site)).json()
    assert api["trust_policy"] in page.text and api["admission_policy"] in page.text
    assert "Last reload error none" in text_of(page.text)

    # A reload that fails keeps the policies in force; the page shows why it failed.
    policy.trust.write_text("version: 1\nnot: [valid\n")
    failed = client.post("/api/v1/policies/reload", headers=bearer(site))
    assert failed.status_code == 422
    again = text_of(client.get(POLICIES_PATH).text)
    assert "Last reload error none" not in again and api["trust_policy"] in again
    assert failed.json()["detail"][:40] in again


def _form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', html)
    assert found, "no alias form"
    return found[1]


def test_moving_an_alias_from_the_model_page(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.admin)
    token = _form_token(client.get("/ui/acme/model").text)
    moved = client.post(
        "/ui/acme/model/aliases",
        data={"alias": "candidate", "version": "1.0.0", "form_token": token},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    assert "Moved candidate" in text_of(client.get(moved.headers["location"]).text)
    api = client.get("/api/v1/models/acme/model/aliases/candidate", headers=bearer(seeded.admin))
    assert api.status_code == 200 and api.json()["digest"] == seeded.digest

    refused = client.post(
        "/ui/acme/model/aliases",
        data={"alias": "production", "version": "1.0.0", "form_token": token},
        headers=SAME_ORIGIN,
    )
    assert refused.status_code == 409
    body = text_of(refused.text)
    assert "production was not moved" in body and "needs 2 distinct trusted signer" in body
    assert 'class="failed"' in refused.text
    gone = client.get("/api/v1/models/acme/model/aliases/production", headers=bearer(seeded.admin))
    assert gone.status_code == 404

    unknown = client.post(
        "/ui/acme/model/aliases",
        data={"alias": "candidate", "version": "9.9.9", "form_token": token},
        headers=SAME_ORIGIN,
    )
    assert unknown.status_code == 404 and "9.9.9" in text_of(unknown.text)
    assert (
        client.post(
            "/ui/acme/nothing/aliases",
            data={"alias": "candidate", "version": "1.0.0", "form_token": token},
            headers=SAME_ORIGIN,
        ).status_code
        == 404
    )


def test_the_alias_form_refuses_forgeries_and_readers(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    form = {"alias": "candidate", "version": "1.0.0"}
    anonymous = client.post(
        "/ui/acme/model/aliases", data={**form, "form_token": ""}, headers=SAME_ORIGIN
    )
    assert anonymous.status_code == 403
    login(client, seeded.reader)
    assert 'name="form_token"' not in client.get("/ui/acme/model").text  # no form for pull
    login(client, seeded.admin)
    token = _form_token(client.get("/ui/acme/model").text)
    cross_site = client.post(
        "/ui/acme/model/aliases",
        data={**form, "form_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403
    no_token = client.post("/ui/acme/model/aliases", data=form, headers=SAME_ORIGIN)
    assert no_token.status_code == 403
    wrong = client.post(
        "/ui/acme/model/aliases", data={**form, "form_token": "0" * 64}, headers=SAME_ORIGIN
    )
    assert wrong.status_code == 403
    login(client, seeded.reader)  # another session: the admin's token is not its token
    reader = client.post(
        "/ui/acme/model/aliases", data={**form, "form_token": token}, headers=SAME_ORIGIN
    )
    assert reader.status_code == 403
    reader_token = client.post(
        "/ui/acme/model/aliases",
        data={**form, "form_token": _reader_token(client)},
        headers=SAME_ORIGIN,
    )
    assert reader_token.status_code == 403 and "promote" in text_of(reader_token.text)
    api = client.get("/api/v1/models/acme/model/aliases/candidate", headers=bearer(seeded.admin))
    assert api.status_code == 404


def _reader_token(client: TestClient) -> str:  # type: ignore[type-arg]

    cookie = client.cookies.get(COOKIE)
    assert cookie
    return hmac.new(cookie.encode(), _FORM_LABEL, hashlib.sha256).hexdigest()


def test_the_model_page_pages_its_versions(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.reader)
    page = client.get("/ui/acme/model", params={"page": 5})  # past the end: the last page
    assert page.status_code == 200 and "1.0.0" in page.text
    assert client.get("/ui/acme/model", params={"page": 0}).status_code == 400
