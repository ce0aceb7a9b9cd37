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


def test_storage_is_the_blob_directory_unless_another_backend_is_named():
    assert Settings.from_env({}).storage.backend == "file"
    assert Settings.from_env({"CUSTODY_STORAGE": "file"}).storage.backend == "file"
    with pytest.raises(ConfigurationError, match=r"CUSTODY_STORAGE .*got 's3'"):
        Settings.from_env({"CUSTODY_STORAGE": "s3"})


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
