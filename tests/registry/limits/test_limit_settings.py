"""The ``limits`` part of the settings: read from CUSTODY_RATE_LIMIT_*, checked at start."""

from __future__ import annotations

import pytest

from registry.errors import ConfigurationError
from registry.settings import LimitSettings, Settings


def test_defaults_are_on_and_in_memory() -> None:
    limits = Settings().limits
    assert limits.store == "memory"
    assert limits.limits_requests
    assert limits.token_reads_per_second > 0 and limits.auth_failures > 0


def test_read_from_the_environment() -> None:
    limits = Settings.from_env(
        {
            "CUSTODY_RATE_LIMIT_STORE": "redis://127.0.0.1:6379/3",
            "CUSTODY_RATE_LIMIT_PREFIX": "replicas-a",
            "CUSTODY_RATE_LIMIT_TOKEN_READS": "7",
            "CUSTODY_RATE_LIMIT_TOKEN_WRITES": "0",
            "CUSTODY_RATE_LIMIT_ADDRESS_READS": "5",
            "CUSTODY_RATE_LIMIT_ADDRESS_WRITES": "1",
            "CUSTODY_RATE_LIMIT_AUTH_FAILURES": "9",
            "CUSTODY_RATE_LIMIT_AUTH_FAILURE_WINDOW_SECONDS": "30",
            "CUSTODY_RATE_LIMIT_AUTH_BLOCK_SECONDS": "600",
            "CUSTODY_RATE_LIMIT_DOWNLOAD_BYTES": "1000000",
            "CUSTODY_RATE_LIMIT_DOWNLOAD_PERIOD_SECONDS": "86400",
        }
    ).limits
    assert limits == LimitSettings(
        store="redis://127.0.0.1:6379/3",
        key_prefix="replicas-a",
        token_reads_per_second=7,
        token_writes_per_second=0,
        address_reads_per_second=5,
        address_writes_per_second=1,
        auth_failures=9,
        auth_failure_window_seconds=30,
        auth_block_seconds=600,
        download_bytes=1_000_000,
        download_period_seconds=86400,
    )


@pytest.mark.parametrize("store", ["memcached://x", "redis://", "127.0.0.1:6379", "mem"])
def test_an_unknown_store_is_refused(store: str) -> None:
    with pytest.raises(ConfigurationError, match="CUSTODY_RATE_LIMIT_STORE"):
        Settings.from_env({"CUSTODY_RATE_LIMIT_STORE": store})


def test_a_password_in_the_store_url_is_never_shown() -> None:
    limits = Settings.from_env(
        {"CUSTODY_RATE_LIMIT_STORE": "redis://user:s3cret@127.0.0.1:6379/0"}
    ).limits
    assert "s3cret" not in repr(limits)
    assert "s3cret" not in limits.describe()
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"CUSTODY_RATE_LIMIT_STORE": "http://user:s3cret@host/"})
    assert "s3cret" not in str(refused.value)


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="CUSTODY_RATE_LIMIT_TOKEN_READS"):
        Settings.from_env({"CUSTODY_RATE_LIMIT_TOKEN_READS": "-1"})
