"""Text either engine refuses, in what the hub would store: a 400, on both engines.

A signature proves who wrote a claim, not that a database can hold it: a NUL in a
signed latent record's sampler, or in a reprint request, is refused before anything is
logged. (A lone surrogate cannot be signed at all: it is not encodable as UTF-8.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import tests.registry.hub.conftest as hub_support
from tests.registry.hub.conftest import generate, png
from tests.support.registry_helpers import bearer

UNKNOWN_MODEL = "acme/sd@sha256:" + "ab" * 32


def _malformed(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["check"] == "format", body
    return body


@pytest.mark.parametrize("sampler", ["euler\x00a", "euler\x00"])
def test_a_signed_claim_holding_invalid_text_is_refused(
    hub, keys, make_token, monkeypatch, sampler
):  # type: ignore[no-untyped-def]
    recorder = hub_support.LatentRecorder

    def with_sampler(*args: Any, **kwargs: Any) -> Any:
        return recorder(*args, **{**kwargs, "sampler": sampler})

    monkeypatch.setattr(hub_support, "LatentRecorder", with_sampler)
    gen = generate(keys, UNKNOWN_MODEL)
    headers = bearer(make_token(scopes="pull,push").secret)
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=headers)
    assert "the verified claim" in _malformed(response)["detail"]
    assert hub.get("/api/v1/log/checkpoint").text.splitlines()[1] == "0"  # nothing logged


@pytest.mark.parametrize("reprinter", ["daily\u0000planet", "daily\ud800planet"])
def test_a_reprint_request_holding_invalid_text_is_refused(hub, make_token, reprinter):  # type: ignore[no-untyped-def]
    body = json.dumps({"reprinter": reprinter}).encode()
    response = hub.post(
        "/api/v1/reprints",
        files={
            "request": ("request.json", body, "application/json"),
            "image": ("image.png", png(), "image/png"),
        },
        headers=bearer(make_token(scopes="pull").secret),
    )
    assert "the 'request' part" in _malformed(response)["detail"]
