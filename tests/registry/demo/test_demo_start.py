"""When a start seeds nothing, without a server: a data directory the demo was seeded in
(a second ``make run``), and ``CUSTODY_DEMO`` off in each spelling (both engines).

test_demo.py restarts a real server after seeding; these are the fast checks of the same
decisions, down to what is written and logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry.db.engine import create_sync_engine
from registry.db.models import ApiToken, AuditEvent, Namespace
from registry.demo.seed import MARKER, demo_dir, prepare, why_not
from registry.errors import ConfigurationError
from registry.settings import DatabaseSettings, DemoSettings, Settings


def _settings(tmp_path: Path, database_url: str, enabled: bool) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        demo=DemoSettings(enabled=enabled),
    )


def _rows(database_url: str) -> dict[str, int]:
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                table.__tablename__: int(connection.scalar(select(func.count()).select_from(table)))
                for table in (Namespace, ApiToken, AuditEvent)
            }
    finally:
        engine.dispose()


def test_a_second_start_seeds_nothing_and_names_the_pages(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, database_url, enabled=True)
    directory = demo_dir(settings)
    directory.mkdir()
    (directory / MARKER).write_text(json.dumps({"repository": "demo/tiny-add"}) + "\n")
    before = _rows(database_url)

    with caplog.at_level(logging.INFO, logger="registry.demo"):
        assert prepare(settings) is None
    assert why_not(settings) == "already seeded"
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.demo"]
    image = directory.resolve() / "demo-output.png"
    assert lines == [
        "demo: already seeded",
        f"demo: model page http://127.0.0.1:8080/ui/demo/tiny-add ; verify page "
        f"http://127.0.0.1:8080/ui/-/verify (drop {image} on it)",
    ]
    # Nothing made again: no key, policy or model file, no namespace, token or audit event.
    assert sorted(p.name for p in directory.iterdir()) == [MARKER]
    assert _rows(database_url) == before == {"namespaces": 0, "api_tokens": 0, "audit_events": 0}


@pytest.mark.parametrize("value", ["0", "false", "no", "off", " OFF "])
def test_custody_demo_off_seeds_nothing_and_says_nothing(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    env = {"CUSTODY_DEMO": value, "CUSTODY_DATABASE_URL": database_url}
    settings = Settings.from_env(env)
    assert settings.demo.enabled is False
    located = _settings(tmp_path, database_url, enabled=settings.demo.enabled)
    with caplog.at_level(logging.INFO, logger="registry.demo"):
        assert prepare(located) is None
    assert [r for r in caplog.records if r.name == "registry.demo"] == []
    assert not demo_dir(located).exists()
    assert _rows(database_url) == {"namespaces": 0, "api_tokens": 0, "audit_events": 0}


def test_custody_demo_must_be_a_boolean() -> None:
    with pytest.raises(ConfigurationError, match=r"CUSTODY_DEMO must be a boolean, got 'maybe'"):
        Settings.from_env({"CUSTODY_DEMO": "maybe"})


def test_a_start_after_an_interrupted_seeding_says_what_happened(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The first start prepared the demo (files, namespace, token) and was stopped before
    the seeding thread pushed anything: the next start says so instead of "content"."""
    settings = _settings(tmp_path, database_url, enabled=True)
    assert prepare(settings) is not None  # what the first start did before it was stopped
    with caplog.at_level(logging.INFO, logger="registry.demo"):
        assert prepare(settings) is None
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.demo"]
    assert lines == [
        f"demo: not seeded: an earlier start did not finish seeding it (no {MARKER} in "
        f"{demo_dir(settings)}); 'custody demo remove' takes the partial demo out, an empty "
        "data directory seeds it whole"
    ]
    assert _rows(database_url)["namespaces"] == 1  # the one namespace the first start made
