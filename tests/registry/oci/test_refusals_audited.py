"""Every refusal of the OCI store leaves an audit event, or is answered 503 saying why.

Deleting what a manifest needs (an index child, a version's signature, a blob in
use) and moving or deleting a version are refused with 409 through
``registry.audit.service.refuse``: the refused change is rolled back and the event is
committed. When the event cannot be written (another writer holds the database),
the answer is 503 carrying the refusal's reason, never 500 and never a refusal
without its evidence.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, make_url, text

from registry.db.engine import create_sync_engine
from registry.services import services_of
from registry.settings import Settings
from tests.support.oci_client import OCI_INDEX, Oci, descriptor_of, oci_code
from tests.support.registry_helpers import sha256_digest

SIG_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
URL = "/v2/acme/model/manifests/"


def _events(oci: Oci, action: str) -> list[dict[str, Any]]:
    response = oci.client.get(
        "/api/v1/audit", params={"namespace": "acme", "action": action}, headers=oci.headers
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _refused(response: Any) -> str:
    assert response.status_code == 409, response.text
    assert oci_code(response) == "DENIED"
    message: str = response.json()["errors"][0]["message"]
    return message


def test_deleting_an_index_child_is_refused_and_audited(oci: Oci):
    child = oci.manifest([b"part"])
    assert oci.put_manifest(sha256_digest(child), child).status_code == 201
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor_of(child)]}
    ).encode()
    put = oci.client.put(
        URL + "1.0.0", content=index, headers={**oci.headers, "Content-Type": OCI_INDEX}
    )
    assert put.status_code == 201, put.text
    message = _refused(oci.client.delete(URL + sha256_digest(child), headers=oci.headers))
    (event,) = _events(oci, "manifest.delete.refused")
    assert event["subject"] == f"acme/model@{sha256_digest(child)}"
    assert event["detail"]["index"] == sha256_digest(index)
    assert event["detail"]["reason"] == message


def test_deleting_a_versions_signature_or_a_blob_in_use_is_refused_and_audited(oci: Oci):
    subject = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", subject).status_code == 201
    signature = oci.manifest([b"bundle"], artifact_type=SIG_TYPE, subject=descriptor_of(subject))
    assert oci.put_manifest(sha256_digest(signature), signature).status_code == 201
    _refused(oci.client.delete(URL + sha256_digest(signature), headers=oci.headers))
    (event,) = _events(oci, "manifest.delete.refused")
    assert event["detail"]["version"] == "1.0.0"

    layer = sha256_digest(b"weights")
    blob = oci.client.delete(f"/v2/acme/model/blobs/{layer}", headers=oci.headers)
    assert sha256_digest(subject) in _refused(blob)
    (unlink,) = _events(oci, "blob.delete.refused")
    assert unlink["subject"] == f"acme/model@{layer}"
    assert unlink["detail"]["manifest"] == sha256_digest(subject)
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}", headers=oci.headers).status_code == 200


def test_moving_or_deleting_a_version_is_refused_and_audited(oci: Oci):
    first = oci.manifest([b"v1 weights"])
    second = oci.manifest([b"v1 weights, changed"])
    assert oci.put_manifest("1.4.0", first).status_code == 201
    _refused(oci.put_manifest("1.4.0", second))
    (moved,) = _events(oci, "version.move.refused")
    assert moved["subject"] == "acme/model:1.4.0"
    assert moved["detail"]["digest"] == sha256_digest(first)
    assert moved["detail"]["to"] == sha256_digest(second)
    # The refused push stored nothing: its manifest is not there by digest either.
    stored = oci.client.get(URL + sha256_digest(second), headers=oci.headers)
    assert stored.status_code == 404

    _refused(oci.client.delete(URL + "1.4.0", headers=oci.headers))
    _refused(oci.client.delete(URL + sha256_digest(first), headers=oci.headers))
    by_tag, by_digest = _events(oci, "version.delete.refused")
    assert by_tag["subject"] == "acme/model:1.4.0"
    assert by_digest["subject"] == f"acme/model@{sha256_digest(first)}"
    assert by_digest["detail"]["versions"] == ["1.4.0"]


@contextmanager
def _audit_blocked(oci: Oci, settings: Settings) -> Iterator[None]:
    """Another writer holds the database (as the log writer or a TUF publication can),
    and the app's connections give up after 0.1 s instead of 10 s."""
    engine = services_of(oci.client.app).engine.sync_engine
    url = settings.effective_database_url
    sqlite = url.startswith("sqlite")
    wait = "PRAGMA busy_timeout = 100" if sqlite else "SET lock_timeout = '100ms'"

    def short_wait(dbapi_connection: Any, *_args: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(wait)
        cursor.close()

    event.listen(engine, "checkout", short_wait)
    try:
        if sqlite:
            holder = sqlite3.connect(str(make_url(url).database), isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                holder.rollback()
                holder.close()
        else:
            other = create_sync_engine(url)
            try:
                with other.begin() as connection:
                    connection.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
                    yield
            finally:
                other.dispose()
    finally:
        event.remove(engine, "checkout", short_wait)


def test_a_refusal_that_cannot_be_audited_is_a_503_with_its_reason(oci: Oci, settings: Settings):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    with _audit_blocked(oci, settings):
        response = oci.client.delete(URL + "1.0.0", headers=oci.headers)
    assert response.status_code == 503, response.text
    error = response.json()["errors"][0]
    assert error["code"] == "UNAVAILABLE"
    assert "versions are immutable" in error["message"]
    assert error["detail"]["refused_status"] == 409
    assert error["detail"]["audited"] is False
    assert response.headers["retry-after"] == "1"
    assert _events(oci, "version.delete.refused") == []
    metrics = oci.client.get("/metrics").text
    assert 'custody_refusals_unaudited_total{action="version.delete.refused"} 1.0' in metrics
    # Nothing changed, and once the database is free the same refusal is audited.
    assert oci.client.get(URL + "1.0.0", headers=oci.headers).content == body
    _refused(oci.client.delete(URL + "1.0.0", headers=oci.headers))
    assert len(_events(oci, "version.delete.refused")) == 1


def test_a_lifecycle_refusal_that_cannot_be_audited_is_a_503_problem(oci: Oci, settings: Settings):
    """The same through /api/v1/: problem details that still say what was refused."""
    assert oci.put_manifest("1.0.0", oci.manifest([b"weights"])).status_code == 201
    alias = "/api/v1/models/acme/model/aliases/1.0.0"
    with _audit_blocked(oci, settings):
        response = oci.client.delete(alias, headers=oci.headers)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 503 and problem["refused_status"] == 409
    assert "versions are immutable" in problem["reason"]
    assert oci.client.delete(alias, headers=oci.headers).status_code == 409
    (event,) = _events(oci, "version.delete.refused")
    assert event["subject"] == "acme/model:1.0.0"
