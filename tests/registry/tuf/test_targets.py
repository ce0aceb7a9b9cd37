"""ngclient (python-tuf's own client) against the registry's metadata, in-process."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from tests.registry.tuf.conftest import make_updater, push_version, versions
from tests.support.oci_client import OCI_MANIFEST
from tests.support.registry_helpers import safetensors_bytes, sha256_digest


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_ngclient_finds_files_manifest_and_alias(client, oci, root_json, tmp_path: Path):
    files = {"model.safetensors": safetensors_bytes(), "configs/a b.json": b"{}"}
    body, _ = push_version(oci, "1.0.0", files)
    newer = safetensors_bytes(b"\1" * 8)
    push_version(oci, "1.1.0", {"model.safetensors": newer})
    assert oci.put_manifest("production", body).status_code == 201

    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()

    for title, data in files.items():
        info = updater.get_targetinfo(f"acme/model/1.0.0/{quote(title, safe='')}")
        assert info is not None, title
        assert info.length == len(data)
        assert info.hashes == {"sha256": _hex(data)}
        assert info.custom == {
            "manifest": sha256_digest(body),
            "mediaType": "application/vnd.cncf.model.weight.v1.raw",
        }
    manifest = updater.get_targetinfo("acme/model/1.0.0/@manifest")
    assert manifest is not None
    assert (manifest.length, manifest.hashes) == (len(body), {"sha256": _hex(body)})
    assert manifest.custom == {"mediaType": OCI_MANIFEST}

    alias = updater.get_targetinfo("acme/model/@alias/production")
    assert alias is not None
    assert (alias.length, alias.hashes) == (len(body), {"sha256": _hex(body)})
    assert alias.custom == {"version": "1.0.0", "manifest": sha256_digest(body)}
    assert updater.get_targetinfo("acme/model/@alias/staging") is None
    assert updater.get_targetinfo("acme/model/1.1.0/model.safetensors").length == len(newer)
    assert versions(client)["acme"] >= 1
