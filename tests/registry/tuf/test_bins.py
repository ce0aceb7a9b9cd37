"""Hashed bins: a large namespace delegates to bins, and a push re-signs only what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]

from registry.settings import DatabaseSettings, Settings, TufSettings
from registry.tuf import bins
from tests.registry.tuf.conftest import make_updater, push_version, versions
from tests.support.registry_helpers import safetensors_bytes


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Bins from 4 targets on, 2 targets per bin: small enough to watch them work."""
    return Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=database_url),
        tuf=TufSettings(bin_threshold=4, targets_per_bin=2),
    )


def test_layout_rules():
    never = bins.Binning(threshold=0)
    assert never.bits_for(10**6, 0) == 0
    binning = bins.Binning(threshold=4, per_bin=2)
    assert binning.bits_for(4, 0) == 0
    assert binning.bits_for(5, 0) == 2  # ceil(log2(5 / 2))
    assert binning.bits_for(1, 3) == 3  # never shrinks: no churn around the threshold
    assert bins.Binning(threshold=1, per_bin=256).bits_for(10**9, 0) == bins.MAX_BITS
    assert bins.namespace_of("acme@bin-0f") == "acme" and bins.namespace_of("acme") == "acme"
    assert bins.current_bits("acme", ["acme", "acme@bin-0", "acme@bin-1", "acme-x@bin-0"]) == 1
    a = TargetFile(1, {"sha256": "00" * 32}, "acme/m/1.0.0/a")
    b = TargetFile(2, {"sha256": "11" * 32}, "acme/m/1.0.0/b")
    assert bins.fingerprint({"x": a, "y": b}) == bins.fingerprint({"y": b, "x": a})
    assert bins.fingerprint({"x": a}) != bins.fingerprint({"x": b})


def _bins(found: dict[str, int]) -> dict[str, int]:
    return {role: v for role, v in found.items() if role.startswith("acme@bin-")}


def test_a_push_resigns_only_the_bins_it_touches(client, oci, root_json, tmp_path: Path):
    for minor in range(3):
        push_version(oci, f"1.{minor}.0", {"model.safetensors": safetensors_bytes(bytes([minor]))})
    before = versions(client)
    layout = _bins(before)
    assert len(layout) == 4  # 6 targets, 2 per bin: room for 8
    parent = json.loads(client.get(f"/tuf/{before['acme']}.acme.json", headers=oci.headers).content)
    succinct = parent["signed"]["delegations"]["succinct_roles"]
    assert succinct["name_prefix"] == "acme@bin" and succinct["bit_length"] == 2
    assert parent["signed"]["targets"] == {}

    assert (
        oci.put_manifest(
            "staging", oci.manifest([safetensors_bytes(b"\0")], titles=["model.safetensors"])
        ).status_code
        == 201
    )
    after = versions(client)
    changed = {r for r in layout if after[r] != before[r]}
    assert len(changed) == 1  # the alias target's bin, nothing else
    assert after["acme"] == before["acme"]  # the namespace role is untouched

    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    for minor in range(3):
        assert updater.get_targetinfo(f"acme/model/1.{minor}.0/model.safetensors") is not None
    staging = updater.get_targetinfo("acme/model/@alias/staging")
    assert staging is not None and staging.custom["version"] == "1.0.0"

    # Bin metadata of a private namespace needs pull rights too.
    some_bin = next(iter(layout))
    assert client.get(f"/tuf/{after[some_bin]}.{some_bin}.json").status_code == 401
    assert client.get(f"/tuf/{after[some_bin]}.{some_bin}.json", headers=oci.headers).is_success


def test_growing_relays_bins_and_rotation_resigns_them(
    client, oci, root_json, tuf_cli, tmp_path: Path
):
    for minor in range(3):
        push_version(oci, f"1.{minor}.0", {"model.safetensors": safetensors_bytes(bytes([minor]))})
    small = _bins(versions(client))
    assert len(small) == 4  # 6 targets
    for minor in range(3, 9):
        push_version(oci, f"1.{minor}.0", {"model.safetensors": safetensors_bytes(bytes([minor]))})
    grown = versions(client)
    assert len(_bins(grown)) == 16  # 18 targets: the layout grew; snapshot lists only the new bins

    result = tuf_cli("tuf", "rotate-namespace", "acme")
    assert result.exit_code == 0, result.output
    rotated = versions(client)
    assert all(rotated[r] == grown[r] + 1 for r in _bins(grown))  # every bin re-signed
    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    for minor in range(9):
        assert updater.get_targetinfo(f"acme/model/1.{minor}.0/@manifest") is not None
