"""Short-lived metadata is re-signed before it expires, with nothing new to publish."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from tuf.api.exceptions import ExpiredMetadataError

from tests.registry.tuf.conftest import make_updater, push_version, versions
from tests.support.registry_helpers import bearer, safetensors_bytes


def _timestamp(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    signed: dict = json.loads(client.get("/tuf/timestamp.json").content)["signed"]  # type: ignore[type-arg]
    return signed


def test_expiring_metadata_is_resigned(client, oci, root_json, tuf_cli, make_token, tmp_path: Path):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    reader = bearer(make_token(namespace="acme", scopes="pull", expires_in=None).secret)
    start = datetime.now(UTC).replace(microsecond=0)
    first = versions(client)

    with freeze_time(start + timedelta(hours=11), real_asyncio=True):
        assert versions(client) == first  # a timestamp with 13 h left is served as it is

    with freeze_time(start + timedelta(hours=13), real_asyncio=True):
        renewed = _timestamp(client)
        assert renewed["version"] == first["timestamp"] + 1
        assert renewed["expires"] == (start + timedelta(hours=37)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert versions(client)["snapshot"] == first["snapshot"]  # only the timestamp moved
        make_updater(client, tmp_path / "a", root_json, reader).refresh()

    with freeze_time(start + timedelta(days=4), real_asyncio=True):
        later = versions(client)  # the snapshot (7 days) is past half its life as well
        assert later["snapshot"] == first["snapshot"] + 1
        assert later["acme"] == first["acme"]
        make_updater(client, tmp_path / "b", root_json, reader).refresh()

    with freeze_time(start + timedelta(days=100), real_asyncio=True):
        # Nobody asked for 100 days: every online role has expired, and is re-signed on demand.
        late = versions(client)
        assert late["targets"] > first["targets"] and late["acme"] > first["acme"]
        updater = make_updater(client, tmp_path / "c", root_json, reader)
        updater.refresh()
        assert updater.get_targetinfo("acme/model/1.0.0/@manifest") is not None

    with freeze_time(start + timedelta(days=400), real_asyncio=True):
        # Root is never re-signed behind the operator's back: clients refuse it once expired...
        with pytest.raises(ExpiredMetadataError):
            make_updater(client, tmp_path / "d", root_json, reader).refresh()
        # ...until the operator re-signs it.
        assert tuf_cli("tuf", "resign", "--root").exit_code == 0
        make_updater(client, tmp_path / "d", root_json, reader).refresh()
