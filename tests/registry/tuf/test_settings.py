"""CUSTODY_TUF_* settings (pure logic, no database)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from registry.errors import ConfigurationError
from registry.settings import Settings
from registry.tuf.publisher import Lifetimes


def test_tuf_settings_from_environment():
    settings = Settings.from_env(
        {
            "CUSTODY_DATA_DIR": "/srv/custody",
            "CUSTODY_TUF_KEYS_DIR": "/srv/keys",
            "CUSTODY_TUF_ROOT_KEYS_DIR": "/media/offline",
            "CUSTODY_TUF_TIMESTAMP_EXPIRY_SECONDS": "600",
            "CUSTODY_TUF_SNAPSHOT_EXPIRY_SECONDS": "3600",
            "CUSTODY_TUF_TARGETS_EXPIRY_SECONDS": "86400",
            "CUSTODY_TUF_ROOT_EXPIRY_SECONDS": "864000",
            "CUSTODY_TUF_BIN_THRESHOLD": "0",
            "CUSTODY_TUF_TARGETS_PER_BIN": "64",
        }
    )
    assert settings.effective_tuf_keys_dir == Path("/srv/keys")
    assert settings.effective_tuf_root_keys_dir == Path("/media/offline")
    assert (settings.tuf.bin_threshold, settings.tuf.targets_per_bin) == (0, 64)
    lifetimes = Lifetimes.from_settings(settings)
    assert lifetimes.of("timestamp") == timedelta(minutes=10)
    assert lifetimes.of("snapshot") == timedelta(hours=1)
    assert lifetimes.of("acme") == lifetimes.of("targets") == timedelta(days=1)
    assert lifetimes.of("root") == timedelta(days=10)


def test_tuf_defaults():
    settings = Settings.from_env({"CUSTODY_DATA_DIR": "/srv/custody"})
    assert settings.effective_tuf_keys_dir == Path("/srv/custody/tuf-keys")
    assert settings.effective_tuf_root_keys_dir == settings.effective_tuf_keys_dir
    lifetimes = Lifetimes.from_settings(settings)
    assert lifetimes.of("timestamp") == timedelta(days=1)
    assert lifetimes.of("snapshot") == timedelta(days=7)


def test_too_short_lifetime_is_a_configuration_error():
    settings = Settings.from_env({"CUSTODY_TUF_SNAPSHOT_EXPIRY_SECONDS": "1"})
    with pytest.raises(ConfigurationError, match="CUSTODY_TUF_SNAPSHOT_EXPIRY_SECONDS"):
        Lifetimes.from_settings(settings)
