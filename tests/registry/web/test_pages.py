"""The ``/ui`` pages over plain HTTP (no browser), on both engines: each route, its rights,
its errors as pages, the session cookie's flags, and the JSON API left as it was."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import Settings
from tests.registry.web.seed import DATASET, Seeded
from tests.support.registry_helpers import bearer

LOGIN = "/ui/-/login"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def login(client: TestClient, token: str, next_page: str = "/ui") -> None:  # type: ignore[type-arg]
    response = client.post(
        LOGIN,
        data={"token": token, "next": next_page},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_page


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_root_redirects_to_the_pages(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/ui"


def test_anonymous_sees_the_anonymous_namespace_and_not_the_private_one(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    page = client.get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/ui/public"' in page.text and 'href="/ui/acme"' not in page.text
    assert client.get("/ui/public").status_code == 200
    assert "0.1.0" in client.get("/ui/public/demo").text
    assert client.get("/ui/public/demo/versions/0.1.0").status_code == 200

    for private in ("/ui/acme", "/ui/acme/model", "/ui/acme/model/versions/1.0.0"):
        response = client.get(private, follow_redirects=False)
        assert response.status_code == 303, private
        assert response.headers["location"] == f"{LOGIN}?next={private}"


def test_a_logged_in_reader_browses_to_a_version(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.reader, "/ui/acme")
    namespaces = client.get("/ui").text
    assert 'href="/ui/acme"' in namespaces and 'href="/ui/public"' in namespaces

    models = text_of(client.get("/ui/acme").text)
    assert "model" in models and "staging" in models

    model = client.get("/ui/acme/model")
    assert model.status_code == 200
    assert "1.0.0" in model.text and "staging" in model.text
    # Each version says who verifiably signed it (mallory's bundle fails: not trusted).
    assert "verified alice 1 failed" in text_of(model.text)
    listed = client.get("/api/v1/models/acme/model/versions", headers=bearer(seeded.reader))
    assert listed.json()["versions"][0]["signatures"] == {
        "verified": 1,
        "failed": 1,
        "signers": ["alice"],
    }
    # A pull token does not read the audit trail, so the alias history says where it is.
    assert "shown to this namespace" in text_of(model.text)

    version = client.get("/ui/acme/model/versions/1.0.0")
    assert version.status_code == 200
    body = text_of(version.text)
    assert seeded.digest in version.text
    assert "model.safetensors" in body and "onnx" in body
    assert "verified alice" in body and "failed" in body
    assert "Apache-2.0" in body and DATASET in body
    # The promotion check per alias: staging holds (one trusted signer).
    assert re.search(r"staging allowed", body), body

    bom = client.get(re.search(r'href="([^"]+sbom\.cdx\.json)"', version.text)[1])  # type: ignore[index]
    assert bom.status_code == 200
    assert bom.headers["content-type"].startswith("application/vnd.cyclonedx+json")
    assert bom.json()["bomFormat"] == "CycloneDX"


def test_a_token_for_another_namespace_gets_a_403_page(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
    make_token,  # type: ignore[no-untyped-def]
) -> None:
    login(client, make_token(namespace="other", scopes="pull").secret)
    namespaces = client.get("/ui").text
    assert 'href="/ui/public"' in namespaces and 'href="/ui/acme"' not in namespaces
    for path in ("/ui/acme", "/ui/acme/model", "/ui/acme/model/versions/1.0.0"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert "does not grant pull" in text_of(response.text)


def test_an_admin_sees_the_alias_history_with_verdicts_and_policies(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    refused = client.put(
        "/api/v1/models/acme/model/aliases/production",
        json={"version": "1.0.0"},
        headers=bearer(seeded.admin),
    )
    assert refused.status_code == 409
    login(client, seeded.admin)
    html = client.get("/ui/acme/model").text
    body = text_of(html)
    assert "alias.move" in body and "alias.decision" in body and "alias.refused" in body
    assert "production" in body and "refused" in body and "allowed" in body
    assert "needs 2 distinct trusted signer" in body
    # Digests are shortened in tables; the whole value is each one's title.
    assert re.search(r'trust_policy: <code class="digest" title="sha256:[0-9a-f]{64}"', html)
    assert f'→ <code class="digest" title="{seeded.digest}"' in html


def test_sbom_search_finds_the_version_and_reports_bad_input_as_a_page(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.reader)
    found = client.get("/ui/acme", params={"license": "Apache-2.0", "dataset": DATASET})
    assert found.status_code == 200
    assert 'href="/ui/acme/model/versions/1.0.0"' in found.text
    none = client.get("/ui/acme", params={"license": "GPL-3.0-only"})
    assert "No version in acme matches all of these" in text_of(none.text)
    by_name = client.get("/ui/acme", params={"q": "nothing-like-it"})
    assert "No models match" in text_of(by_name.text)
    bad = client.get("/ui/acme", params={"opset": "thirteen"})
    assert bad.status_code == 400 and "opset" in text_of(bad.text)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ui/nowhere", 404),
        ("/ui/acme/nothing", 404),
        ("/ui/acme/model/versions/9.9.9", 404),
        ("/ui/acme/model/versions/1.0.0/sbom.cdx.json", 200),
        ("/ui/public/demo/versions/0.1.0/sbom.cdx.json", 404),
        ("/ui/Bad..Name", 400),
        ("/ui/-/nothing", 404),
        ("/ui/acme/model/versions/1.0.0/files/x", 404),
    ],
)
def test_errors_are_pages_not_500s(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
    path: str,
    status: int,
) -> None:
    login(client, seeded.admin)
    response = client.get(path)
    assert response.status_code == status, response.text
    if status != 200:
        assert response.headers["content-type"].startswith("text/html")
        assert "<main" in response.text


def test_login_refuses_bad_tokens_and_cross_site_posts(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    wrong = client.post(LOGIN, data={"token": "cst_nope"}, headers=SAME_ORIGIN)
    assert wrong.status_code == 401 and "refused" in wrong.text
    assert "set-cookie" not in wrong.headers
    empty = client.post(LOGIN, data={"token": ""}, headers=SAME_ORIGIN)
    assert empty.status_code == 400
    cross = client.post(
        LOGIN, data={"token": seeded.admin}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    other_origin = client.post(
        LOGIN, data={"token": seeded.admin}, headers={"Origin": "https://evil.example"}
    )
    assert other_origin.status_code == 403
    # An open redirect is not possible through ``next``.
    response = client.post(
        LOGIN,
        data={"token": seeded.admin, "next": "https://evil.example/ui"},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui"


def test_the_session_cookie_flags_and_logout(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    response = client.post(
        LOGIN, data={"token": seeded.reader}, headers=SAME_ORIGIN, follow_redirects=False
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/ui" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()  # a session cookie
    # Plain http to 127.0.0.1: browsers keep no Secure cookie there... except on loopback,
    # which they treat as secure; Custody leaves the flag off only for that case.
    assert "Secure" not in cookie
    assert client.get("/ui/acme").status_code == 200
    out = client.post("/ui/-/logout", headers=SAME_ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and 'custody_session=""' in out.headers["set-cookie"]
    assert client.get("/ui/acme", follow_redirects=False).status_code == 303


def test_a_revoked_token_ends_the_session(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    client.cookies.set("custody_session", "cst_not_a_token", path="/ui")
    response = client.get("/ui/acme", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith(LOGIN)
    assert 'custody_session=""' in response.headers["set-cookie"]


def test_cookie_is_secure_over_https_and_login_refused_over_remote_http(
    settings: Settings,
    seeded: Seeded,
) -> None:
    app = create_app(settings)
    with TestClient(app=app, base_url="https://registry.example") as https:
        response = https.post(
            LOGIN, data={"token": seeded.reader}, headers=SAME_ORIGIN, follow_redirects=False
        )
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]
    with TestClient(app=app, base_url="http://registry.example") as plain:
        assert "plain http" in plain.get(LOGIN).text
        refused = plain.post(LOGIN, data={"token": seeded.reader}, headers=SAME_ORIGIN)
        assert refused.status_code == 400 and "set-cookie" not in refused.headers


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href", "action"} and v is not None]


def assert_served_locally(client: TestClient, paths: list[str]) -> None:  # type: ignore[type-arg]
    """Every link, source and form of each page is on this registry and answers without a
    500; the policy headers say nothing may come from another host."""
    for path in paths:
        response = client.get(path)
        parser = _Links()
        parser.feed(response.text)
        assert parser.urls, path
        for url in parser.urls:
            if url.startswith("#"):
                continue  # the skip link
            assert url.startswith("/") and not url.startswith("//"), (path, url)
            assert client.get(url.split("#")[0]).status_code < 500, url
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert response.headers["cache-control"] == "no-store"


def test_pages_load_nothing_from_another_host_and_say_so_in_their_policy(
    client: TestClient,  # type: ignore[type-arg]
    seeded: Seeded,
) -> None:
    login(client, seeded.admin)
    assert_served_locally(
        client,
        [
            "/ui",
            LOGIN,
            "/ui/acme",
            "/ui/acme/model",
            "/ui/acme/model/versions/1.0.0",
            "/ui/nowhere",
            "/ui/-/log/0",  # the log is empty here: the log-entry page's 404
        ],
    )


def test_unrouted_paths_outside_the_pages_keep_their_api_answers(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    api = client.get("/api/v1/nothing/here")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    registry = client.get("/v2/acme/model/nothing/here")
    assert registry.status_code == 404 and "<html" not in registry.text


def test_the_openapi_document_lists_no_page(client: TestClient) -> None:  # type: ignore[type-arg]
    paths = client.get("/api/v1/openapi/openapi.json").json()["paths"]
    assert paths and not [p for p in paths if p == "/" or p.startswith("/ui")]
