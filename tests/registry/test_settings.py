"""Settings come from the environment, in the factory, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.errors import ConfigurationError
from registry.settings import Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.data_dir == Path("var")
    assert settings.port == 8080
    assert settings.effective_database_url == f"sqlite:///{Path('var').resolve() / 'custody.db'}"


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
    assert settings.port == 9100
    assert settings.echo_sql is True
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
