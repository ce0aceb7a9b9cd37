"""End to end over a real ``custody serve``: ngclient refreshes over HTTP with credentials."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater

from tests.registry.tuf.conftest import ClientFetcher, push_version
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, safetensors_bytes
from tests.support.tuf import TufRegistry


def _updater(registry: TufRegistry, client: httpx.Client, directory: Path, token: str) -> Updater:
    directory.mkdir()
    (directory / "root.json").write_bytes(registry.root_path.read_bytes())
    return Updater(
        metadata_dir=str(directory),
        metadata_base_url=registry.metadata_url,
        fetcher=ClientFetcher(client, bearer(token) if token else {}),
        bootstrap=None,
    )


def test_push_then_refresh_over_http(tuf_registry: TufRegistry, tmp_path: Path):
    with httpx.Client(base_url=tuf_registry.url) as client:
        oci = Oci(client, bearer(tuf_registry.admin_token), name="live/model")  # type: ignore[arg-type]
        body, _ = push_version(oci, "2.0.0", {"model.safetensors": safetensors_bytes()})
        assert oci.put_manifest("production", body).status_code == 201

        reader = tuf_registry.token("live", "pull")
        updater = _updater(tuf_registry, client, tmp_path / "a", reader)
        updater.refresh()
        alias = updater.get_targetinfo("live/model/@alias/production")
        assert alias is not None and alias.custom["version"] == "2.0.0"

        # Namespace metadata is private: the same refresh without credentials fails closed.
        anonymous = _updater(tuf_registry, client, tmp_path / "b", "")
        anonymous.refresh()  # top-level roles are public
        with pytest.raises(DownloadHTTPError) as refused:
            anonymous.get_targetinfo("live/model/@alias/production")
        assert refused.value.status_code == 401
