"""Liveness, readiness and a first push/pull through the app."""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import replace

from alembic import command
from litestar.testing import TestClient

from registry import create_app
from registry.db import migrate
from registry.settings import Settings
from tests.support.registry_helpers import bearer, sha256_digest
from tests.support.seaweedfs import SeaweedFS


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "blobs": "ok"}


def test_not_ready_without_the_blob_directory(client, settings):
    shutil.rmtree(settings.blob_dir)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["blobs"].startswith("unavailable")
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def _on_s3(settings: Settings, server: SeaweedFS, bucket: str) -> Settings:
    storage = replace(
        settings.storage,
        location=f"s3://{bucket}/readyz-{uuid.uuid4().hex}",
        s3_endpoint_url=server.endpoint_url,
        s3_access_key_id=server.access_key_id,
        s3_secret_access_key=server.secret_access_key,
    )
    return replace(settings, storage=storage)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_on_s3_readiness_asks_the_bucket(settings, seaweedfs):
    on_s3 = _on_s3(settings, seaweedfs, seaweedfs.bucket)
    logged = _Lines()  # the app's logging setup does not propagate to caplog's handler
    logging.getLogger("registry").addHandler(logged)
    try:
        with TestClient(app=create_app(on_s3), base_url="http://127.0.0.1") as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "blobs": "ok"}
    finally:
        logging.getLogger("registry").removeHandler(logged)
    text = "\n".join(logged.lines)
    assert f"storage: S3 {on_s3.storage.location} at {seaweedfs.endpoint_url}" in text
    assert seaweedfs.secret_access_key not in text
    assert seaweedfs.access_key_id not in text
    assert not settings.blob_dir.exists()  # the free-disk floor is the filesystem's alone
    missing = _on_s3(settings, seaweedfs, "no-such-bucket")
    with TestClient(app=create_app(missing), base_url="http://127.0.0.1") as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "blobs": "unavailable: ClientError"}
        assert client.get("/healthz").status_code == 200


def test_not_ready_when_the_schema_is_behind(client, settings):
    command.downgrade(migrate.alembic_config(settings.effective_database_url), "base")
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "expected" in ready.json()["checks"]["database"]
    finally:
        migrate.upgrade(settings.effective_database_url)


def test_monolithic_blob_push_and_pull(client, make_token):
    token = make_token()
    data = b"hello weights" * 1000
    digest = sha256_digest(data)
    r = client.post(
        f"/v2/acme/model/blobs/uploads/?digest={digest}", content=data, headers=bearer(token.secret)
    )
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    assert r.headers["location"] == f"/v2/acme/model/blobs/{digest}"
    r = client.get(f"/v2/acme/model/blobs/{digest}", headers=bearer(token.secret))
    assert r.status_code == 200
    assert r.content == data
    head = client.head(f"/v2/acme/model/blobs/{digest}", headers=bearer(token.secret))
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["docker-content-digest"] == digest


def test_v2_base_requires_credentials(client, make_token):
    anonymous = client.get("/v2/")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer realm=")
    token = make_token(scopes="pull")
    assert client.get("/v2/", headers=bearer(token.secret)).status_code == 200


def test_start_up_log_names_the_policies_in_force(tmp_path, database_url):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.support.live import running_server

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "release.pub").write_bytes(pem)
    trust = tmp_path / "trust.yaml"
    trust.write_text(
        "version: 1\nnamespaces:\n  - match: 'acme/**'\n    level: enforce\n"
        "    signers:\n      - name: release\n        public_key: release.pub\n"
    )
    env = {"CUSTODY_TRUST_POLICY": str(trust)}
    with running_server(tmp_path / "data", database_url, env) as base:
        port = base.rsplit(":", 1)[1]
    log = (tmp_path / f"server-{port}.log").read_text()
    lines = [line for line in log.splitlines() if "policies: " in line]
    assert len(lines) == 1, log
    assert f"trust {trust} (sha256:" in lines[0]
    assert "admission default" in lines[0]
    assert "reprint none (the reprint hub is off)" in lines[0]
    assert f"storage: filesystem {tmp_path / 'data' / 'blobs'}" in log
