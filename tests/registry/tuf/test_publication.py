"""Every push, alias move, alias removal and manifest deletion gives new metadata versions."""

from __future__ import annotations

from pathlib import Path

from tests.registry.tuf.conftest import make_updater, push_version, versions
from tests.support.registry_helpers import safetensors_bytes, sha256_digest

ROLES = ("acme", "snapshot", "timestamp")


def _bumped(before: dict[str, int], after: dict[str, int]) -> None:
    for role in ROLES:
        assert after[role] == before[role] + 1, (role, before, after)
    assert after["targets"] == before["targets"]  # the delegation did not change


def test_each_change_publishes_new_versions(client, oci, root_json, tmp_path: Path):
    first, _ = push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    start = versions(client)
    assert start["acme"] == 1 and start["targets"] == 2  # v2 added acme's delegation

    second, _ = push_version(oci, "1.1.0", {"model.safetensors": safetensors_bytes(b"\2" * 4)})
    after_push = versions(client)
    _bumped(start, after_push)

    assert oci.put_manifest("staging", first).status_code == 201
    after_alias = versions(client)
    _bumped(after_push, after_alias)

    assert oci.put_manifest("staging", second).status_code == 201
    after_move = versions(client)
    _bumped(after_alias, after_move)

    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    staging = updater.get_targetinfo("acme/model/@alias/staging")
    assert staging is not None and staging.custom == {
        "version": "1.1.0",
        "manifest": sha256_digest(second),
    }

    removed = client.delete("/v2/acme/model/manifests/staging", headers=oci.headers)
    assert removed.status_code == 202, removed.text
    after_removal = versions(client)
    _bumped(after_move, after_removal)
    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    assert updater.get_targetinfo("acme/model/@alias/staging") is None
    assert updater.get_targetinfo("acme/model/1.1.0/@manifest") is not None

    # Nothing changed: reading again publishes nothing.
    assert versions(client) == after_removal


def test_deleting_an_aliased_manifest_publishes(client, oci, root_json):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    latest, _ = push_version(oci, "latest", {"model.safetensors": safetensors_bytes(b"\3" * 4)})
    before = versions(client)
    deleted = client.delete(
        f"/v2/acme/model/manifests/{sha256_digest(latest)}", headers=oci.headers
    )
    assert deleted.status_code == 202, deleted.text
    _bumped(before, versions(client))


def test_a_refused_push_leaves_no_mark(client, oci, root_json):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    before = versions(client)
    other = oci.manifest([safetensors_bytes(b"\4" * 4)], titles=["model.safetensors"])
    assert oci.put_manifest("1.0.0", other).status_code == 409  # versions are immutable
    assert versions(client) == before
