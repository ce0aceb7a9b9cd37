"""``custody fsck`` on an S3 bucket (SeaweedFS), both engines: the same findings and repairs.

Blobs are pushed through ``/v2/`` into the bucket; the bucket is then damaged
with a plain S3 client (an object deleted, one shortened, one rewritten, an
orphan and a stray key added, a multipart upload left open).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from custody.cli import cli
from registry import create_app
from registry.db.models import Blob, GcReview
from registry.settings import Settings, StorageSettings
from tests.support.oci_client import Oci, oci_code
from tests.support.registry_helpers import bearer, sha256_digest
from tests.support.seaweedfs import SeaweedFS

from .test_fsck import rows


@pytest.fixture
def s3_settings(settings: Settings, seaweedfs: SeaweedFS) -> Settings:
    return replace(
        settings,
        storage=StorageSettings(
            location=f"s3://{seaweedfs.bucket}/fsck-{uuid.uuid4().hex[:12]}",
            s3_endpoint_url=seaweedfs.endpoint_url,
            s3_access_key_id=seaweedfs.access_key_id,
            s3_secret_access_key=seaweedfs.secret_access_key,
        ),
    )


@pytest.fixture
def s3_oci(s3_settings: Settings, make_token: Any) -> Iterator[Oci]:
    with TestClient(app=create_app(s3_settings), base_url="http://127.0.0.1") as client:
        yield Oci(client, bearer(make_token(scopes="admin").secret))


def fsck_json(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    storage = settings.storage
    env = {
        "CUSTODY_DATABASE_URL": settings.effective_database_url,
        "CUSTODY_STORAGE": storage.location,
        "CUSTODY_S3_ENDPOINT_URL": storage.s3_endpoint_url or "",
        "CUSTODY_S3_ACCESS_KEY_ID": storage.s3_access_key_id or "",
        "CUSTODY_S3_SECRET_ACCESS_KEY": storage.s3_secret_access_key or "",
    }
    result = CliRunner().invoke(
        cli, ["fsck", "--data-dir", str(settings.data_dir), "--json", *args], env=env
    )
    assert result.exit_code in (0, 23), result.output
    return result.exit_code, json.loads(result.stdout)


def test_fsck_finds_and_repairs_on_s3(
    s3_oci: Oci, s3_settings: Settings, seaweedfs: SeaweedFS
) -> None:
    bucket = seaweedfs.bucket
    prefix = s3_settings.storage.location.removeprefix(f"s3://{bucket}/") + "/"
    s3 = seaweedfs.client()

    def key(digest: str) -> str:
        return f"{prefix}sha256/{digest[7:9]}/{digest[7:]}"

    intact = s3_oci.push_blob(b"intact")
    code, clean = fsck_json(s3_settings, "--verify-digests")
    assert code == 0 and clean["ok"] and clean["counts"]["objects"] == 1

    lost = s3_oci.push_blob(b"lost from the bucket")
    resized = s3_oci.push_blob(b"shortened in the bucket")
    rotten = s3_oci.push_blob(b"rewritten in the bucket")
    s3.delete_object(Bucket=bucket, Key=key(lost))
    s3.put_object(Bucket=bucket, Key=key(resized), Body=b"short")
    s3.put_object(Bucket=bucket, Key=key(rotten), Body=b"REWRITTEN IN THE BUCKET")
    orphan = sha256_digest(b"an orphan object")
    s3.put_object(Bucket=bucket, Key=key(orphan), Body=b"an orphan object")
    s3.put_object(Bucket=bucket, Key=f"{prefix}sha256/zz/stray", Body=b"?")
    s3.create_multipart_upload(Bucket=bucket, Key=f"{prefix}_uploads/{'c' * 32}")

    code, found = fsck_json(s3_settings)
    assert code == 23
    assert found["orphans"] == [orphan]
    assert found["missing"] == [{"digest": lost, "marked": False}]
    assert found["size_mismatches"] == [
        {"digest": resized, "row_size": len(b"shortened in the bucket"), "object_size": 5}
    ]
    assert found["corrupt"] == []  # only a scrub reads the bytes
    assert found["stray"] == ["sha256/zz/stray"]
    assert found["upload_leftovers"]["temporary"] == [f"multipart:_uploads/{'c' * 32}"]

    code, repaired = fsck_json(s3_settings, "--verify-digests", "--repair")
    assert code == 23
    assert repaired["corrupt"] == sorted([resized, rotten])
    assert repaired["repair"]["queued_orphans"] == [orphan]
    assert repaired["repair"]["marked_missing"] == sorted([lost, resized, rotten])
    queued = rows(s3_settings, GcReview, GcReview.digest, GcReview.reason)
    assert [d for d, reason in queued if reason == "fsck orphan"] == [orphan]
    marks = dict(rows(s3_settings, Blob, Blob.digest, Blob.missing_since))
    assert marks[intact] is None
    assert all(marks[d] is not None for d in (lost, resized, rotten))
    head = s3_oci.client.head(f"/v2/acme/model/blobs/{rotten}", headers=s3_oci.headers)
    assert head.status_code == 404
    got = s3_oci.client.get(f"/v2/acme/model/blobs/{lost}", headers=s3_oci.headers)
    assert oci_code(got) == "BLOB_UNKNOWN"
