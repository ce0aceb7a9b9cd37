"""Settings come from the environment, in the factory, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import ConfigurationError
from registry.settings import Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.http.port == 8080
    assert settings.effective_database_url == f"sqlite:///{Path('var').resolve() / 'custody.db'}"


def test_unset_and_empty_variables_keep_the_declared_defaults():
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"CUSTODY_PORT": "", "CUSTODY_TLOG_ORIGIN": ""}) == Settings()


def test_each_part_reads_its_own_variables():
    env = {
        "CUSTODY_AUTH_CACHE_SECONDS": "7",
        "CUSTODY_TRUST_POLICY": "/etc/custody/trust.yaml",
        "CUSTODY_TUF_KEYS_DIR": "/srv/keys",
        "CUSTODY_HUB_KEY": "/srv/hub.pem",
        "CUSTODY_TLOG_ORIGIN": "custody.example/log",
        "CUSTODY_TLOG_MAX_BATCH": "0",
        "CUSTODY_MAX_MANIFEST_BYTES": "2048",
    }
    settings = Settings.from_env(env)
    assert settings.auth.cache_seconds == 7
    assert settings.policies.trust == Path("/etc/custody/trust.yaml")
    assert settings.tuf.keys_dir == Path("/srv/keys")
    assert settings.effective_hub_key == Path("/srv/hub.pem")
    assert settings.log.origin == "custody.example/log"
    assert settings.log.max_batch == 1  # a batch holds at least one entry
    assert settings.oci.max_manifest_bytes == 2048


def test_storage_is_the_blob_directory_unless_another_location_is_named():
    default = Settings.from_env({"CUSTODY_DATA_DIR": "/srv/custody"})
    assert default.storage.location == "file"
    assert default.blob_location == Path("/srv/custody/blobs")
    assert not default.storage.is_s3
    for location in ("/mnt/blobs", "file:///mnt/blobs", "s3://bucket", "s3://bucket/a/b"):
        assert Settings.from_env({"CUSTODY_STORAGE": location}).blob_location == location
    assert Settings.from_env({"CUSTODY_STORAGE": "s3://b/p"}).storage.is_s3


@pytest.mark.parametrize(
    "location", ["s3://", "s3:///prefix", "s3://b?x=1", "gs://b", "file://host/dir", "file:"]
)
def test_a_malformed_storage_location_is_one_line_naming_the_setting(location):
    with pytest.raises(ConfigurationError, match=r"^CUSTODY_STORAGE must be .*got ") as raised:
        Settings.from_env({"CUSTODY_STORAGE": location})
    assert "\n" not in str(raised.value)


def test_s3_settings_and_their_checks():
    env = {
        "CUSTODY_STORAGE": "s3://models/custody",
        "CUSTODY_S3_ENDPOINT_URL": "http://127.0.0.1:8333",
        "CUSTODY_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "CUSTODY_S3_SECRET_ACCESS_KEY": "s3cr3t-value",
        "CUSTODY_S3_REGION": "eu-west-1",
    }
    storage = Settings.from_env(env).storage
    assert (storage.s3_endpoint_url, storage.s3_region) == ("http://127.0.0.1:8333", "eu-west-1")
    assert (storage.s3_access_key_id, storage.s3_secret_access_key) == (
        "AKIDEXAMPLE",
        "s3cr3t-value",
    )
    with pytest.raises(ConfigurationError, match=r"^CUSTODY_S3_ENDPOINT_URL must be an http"):
        Settings.from_env({**env, "CUSTODY_S3_ENDPOINT_URL": "127.0.0.1:8333"})
    for given in ("CUSTODY_S3_ACCESS_KEY_ID", "CUSTODY_S3_SECRET_ACCESS_KEY"):
        half = {k: v for k, v in env.items() if k != given}
        with pytest.raises(ConfigurationError, match=f"is set but {given} is not"):
            Settings.from_env(half)


def test_s3_credentials_are_never_shown():
    settings = Settings.from_env(
        {
            "CUSTODY_STORAGE": "s3://models",
            "CUSTODY_S3_ENDPOINT_URL": "http://127.0.0.1:8333",
            "CUSTODY_S3_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "CUSTODY_S3_SECRET_ACCESS_KEY": "s3cr3t-value",
        }
    )
    for shown in (repr(settings), str(settings), settings.storage.describe(settings.blob_location)):
        assert "AKIDEXAMPLE" not in shown
        assert "s3cr3t-value" not in shown
    assert settings.storage.describe(settings.blob_location) == (
        "storage: S3 s3://models at http://127.0.0.1:8333 (credentials from CUSTODY_S3_*)"
    )
    unset = Settings.from_env({"CUSTODY_STORAGE": "s3://models"}).storage
    assert unset.describe("s3://models") == (
        "storage: S3 s3://models at AWS (credentials from boto3's defaults)"
    )


def test_environment_and_overrides():
    env = {
        "CUSTODY_DATA_DIR": "/srv/custody",
        "CUSTODY_DATABASE_URL": "postgresql://u@db/custody",
        "CUSTODY_PORT": "9000",
        "CUSTODY_ECHO_SQL": "yes",
    }
    settings = Settings.from_env(env, port=9100)
    assert settings.data_dir == Path("/srv/custody")
    assert settings.effective_database_url == "postgresql://u@db/custody"
    assert settings.http.port == 9100
    assert settings.database.echo_sql is True
    assert settings.blob_dir == Path("/srv/custody/blobs")


@pytest.mark.parametrize(
    ("name", "value"), [("PORT", "eighty"), ("MAX_BLOB_BYTES", "-1"), ("ECHO_SQL", "maybe")]
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigurationError, match=f"CUSTODY_{name}"):
        Settings.from_env({f"CUSTODY_{name}": value})


def test_unsupported_database_is_refused():
    from registry.db.engine import sync_url

    with pytest.raises(ConfigurationError, match="not supported"):
        sync_url("mysql://root@localhost/x")
    with pytest.raises(ConfigurationError, match="not a valid"):
        sync_url("::::")


def test_upload_expiry_settings():
    assert Settings().oci.upload_expiry_seconds == 24 * 3600
    assert Settings().oci.upload_sweep_seconds == 3600
    settings = Settings.from_env(
        {"CUSTODY_UPLOAD_EXPIRY_SECONDS": "600", "CUSTODY_UPLOAD_SWEEP_SECONDS": "0"}
    )
    assert settings.oci.upload_expiry_seconds == 600
    assert settings.oci.upload_sweep_seconds == 0  # start-up only
    assert Settings.from_env({"CUSTODY_UPLOAD_EXPIRY_SECONDS": "0"}).oci.upload_expiry_seconds == 1
    with pytest.raises(ConfigurationError, match="CUSTODY_UPLOAD_SWEEP_SECONDS"):
        Settings.from_env({"CUSTODY_UPLOAD_SWEEP_SECONDS": "-5"})


def test_s3_redirects_need_an_s3_store_and_a_lifetime_s3_can_sign():
    on = Settings.from_env({"CUSTODY_STORAGE": "s3://models", "CUSTODY_S3_REDIRECT_SECONDS": "60"})
    assert on.storage.s3_redirect_seconds == 60
    assert on.storage.describe("s3://models").endswith(
        "; blob GETs redirected to presigned URLs valid 60 s"
    )
    assert Settings().storage.s3_redirect_seconds == 0  # off unless asked
    with pytest.raises(ConfigurationError, match=r"^CUSTODY_S3_REDIRECT_SECONDS is set but"):
        Settings.from_env({"CUSTODY_S3_REDIRECT_SECONDS": "60"})
    with pytest.raises(ConfigurationError, match=r"must be at most 604800"):
        Settings.from_env(
            {"CUSTODY_STORAGE": "s3://models", "CUSTODY_S3_REDIRECT_SECONDS": "604801"}
        )
    with pytest.raises(ConfigurationError, match=r"must not be negative"):
        Settings.from_env({"CUSTODY_STORAGE": "s3://models", "CUSTODY_S3_REDIRECT_SECONDS": "-1"})
