"""Who may reprint, and who the record names (ADR 0012), on both engines.

Any valid API token may ask, whatever its namespace: the creator's terms decide.
The token is the accountable party: its id and namespace are in the log entry and
in the hub-signed attribution statement, beside the self-chosen display name.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from signing.dsse import Envelope
from tests.registry.hub.conftest import generate, push_version
from tests.registry.hub.test_flows import _reprint
from tests.support.registry_helpers import bearer


@pytest.fixture
def model(hub_oci, keys, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return push_version(hub_oci, signer=keys.release, root=tmp_path)


@pytest.fixture
def registered(hub, keys, model, make_token) -> bytes:  # type: ignore[no-untyped-def]
    gen = generate(keys, model, terms=("reprint-allowed",))
    pusher = bearer(make_token(scopes="pull,push").secret)
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert response.status_code == 201, response.text
    return gen.image


def _named(granted: dict) -> tuple[dict, dict]:  # type: ignore[type-arg]
    statement = json.loads(Envelope.from_json(granted["statement"]).payload)
    return statement["predicate"]["reprint"], json.loads(granted["entry"])


def test_a_token_of_another_namespace_reprints_and_is_named(hub, registered, make_token):
    stranger = make_token(namespace="globex", scopes="pull")
    response = _reprint(hub, bearer(stranger.secret), registered)
    assert response.status_code == 201, response.text
    reprint, logged = _named(response.json())
    party = {"tokenId": stranger.id, "namespace": "globex"}
    assert reprint["reprinter"] == "daily-planet"  # the display name, as given
    assert reprint["requestedBy"] == party  # the accountable party, authenticated
    assert logged["requestedBy"] == party and logged["reprinter"] == "daily-planet"


def test_the_same_request_by_another_token_is_another_reprint(hub, registered, make_token):
    first = make_token(namespace="globex", scopes="pull")
    second = make_token(namespace="initech", scopes="pull")
    one = _reprint(hub, bearer(first.secret), registered).json()
    again = _reprint(hub, bearer(first.secret), registered).json()
    other = _reprint(hub, bearer(second.secret), registered).json()
    assert again["log_index"] == one["log_index"]  # the same party asking again: no new entry
    assert other["log_index"] != one["log_index"]  # a display name is not an identity
    assert _named(other)[0]["requestedBy"] == {"tokenId": second.id, "namespace": "initech"}
    assert _named(again)[0]["requestedBy"]["tokenId"] == first.id


def test_an_oci_access_token_names_no_party(hub, registered, make_token):
    issued = make_token(namespace="acme", scopes="pull,push")
    answer = hub.get(
        "/auth/token",
        params={"service": "custody", "scope": "repository:acme/sd:pull"},
        auth=("anyone", issued.secret),
    )
    assert answer.status_code == 200, answer.text
    response = _reprint(hub, bearer(answer.json()["token"]), registered)
    assert response.status_code == 403, response.text
    assert response.json()["check"] == "requester"
    assert "API token" in response.json()["detail"]
    digest = "sha256:" + hashlib.sha256(registered).hexdigest()
    assert hub.get(f"/api/v1/outputs/{digest}").json()["reprints"] == []  # nothing recorded


def test_anonymous_reprints_are_refused(hub, registered):
    response = _reprint(hub, {}, registered)
    assert response.status_code == 401
