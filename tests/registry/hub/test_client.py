"""verifier.clients.hub refuses hub answers that do not verify (a lying or broken hub)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from signing.keys import generate_private_key, public_key_pem
from tests.registry.hub.conftest import generate, push_version
from tests.support.registry_helpers import bearer
from verifier.clients.hub import HubAnswerInvalid, HubClient, Refused
from verifier.transparency.errors import LogError

Mutate = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def registered(hub, hub_oci, keys, tmp_path, make_token):  # type: ignore[no-untyped-def]
    token = make_token(scopes="pull,push").secret
    gen = generate(keys, push_version(hub_oci, signer=keys.release, root=tmp_path))
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=bearer(token))
    assert response.status_code == 201, response.text
    return gen, token


def _client(hub, token: str, mutate: Mutate | None = None, **pins: Any) -> HubClient:  # type: ignore[no-untyped-def]
    """A HubClient whose requests reach the real hub, answers optionally rewritten."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = hub.request(
            request.method,
            request.url.path,
            content=request.read(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        content = answer.content
        if mutate is not None and answer.headers.get("content-type", "").startswith(
            "application/json"
        ):
            content = json.dumps(mutate(request.url.path, answer.json())).encode()
        return httpx.Response(
            answer.status_code,
            headers={"content-type": answer.headers.get("content-type", "")},
            content=content,
        )

    return HubClient("http://hub", token, transport=httpx.MockTransport(handler), **pins)


def _reprint(client: HubClient, gen) -> Any:  # type: ignore[no-untyped-def]
    import io

    return client.reprint(
        io.BytesIO(gen.image),
        gen.digest,
        "image/png",
        reprinter="daily-planet",
        commercial=False,
        derivative=False,
        attribution=True,
    )


def test_an_honest_answer_verifies(hub, registered):
    gen, token = registered
    with _client(hub, token) as client:
        assert client.attribution(gen.digest).receipt.log_index == 0
        granted = _reprint(client, gen)
        assert granted.statement["predicate"]["creator"] == "alice@acme.example"
        assert not granted.keys_pinned


def test_a_statement_not_signed_by_the_pinned_hub_key_is_refused(hub, registered):
    gen, token = registered
    other = public_key_pem(generate_private_key("ecdsa-p256").public_key())
    with _client(hub, token, hub_key_pem=other) as client, pytest.raises(HubAnswerInvalid):
        _reprint(client, gen)


def test_an_edited_statement_is_refused(hub, registered):
    gen, token = registered

    def edit(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/reprints":
            statement = json.loads(base64.b64decode(body["statement"]["payload"]))
            statement["predicate"]["creator"] = "mallory"
            body["statement"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        return body

    with _client(hub, token, edit) as client, pytest.raises(HubAnswerInvalid, match="signed"):
        _reprint(client, gen)


def test_a_receipt_for_another_entry_is_refused(hub, registered):
    gen, token = registered

    def swap(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.startswith("/api/v1/outputs/"):
            body["entry"] = body["entry"].replace(gen.digest, "sha256:" + "00" * 32)
        return body

    with _client(hub, token, swap) as client, pytest.raises(LogError):
        client.attribution(gen.digest)


def test_an_answer_about_another_image_is_refused(hub, registered):
    gen, token = registered

    def other(path: str, body: dict[str, Any]) -> dict[str, Any]:
        body["image_digest"] = "sha256:" + "00" * 32
        return body

    with _client(hub, token, other) as client, pytest.raises(HubAnswerInvalid):
        client.attribution(gen.digest)


def test_a_refusal_names_its_check(hub, registered):
    _gen, token = registered
    with _client(hub, token) as client, pytest.raises(Refused) as caught:
        client.attribution("sha256:" + "00" * 32)
    assert caught.value.check == "registration" and caught.value.status == 404
