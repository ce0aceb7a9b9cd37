"""Root, online and namespace key rotation; namespace keys with a threshold above one."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]

from tests.registry.tuf.conftest import make_updater, push_version, versions
from tests.support.registry_helpers import safetensors_bytes


def _signed(client, path: str, headers=None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = client.get(path, headers=headers or {})
    assert response.status_code == 200, response.text
    document: dict = json.loads(response.content)  # type: ignore[type-arg]
    return document


def _signers(document: dict) -> set[str]:  # type: ignore[type-arg]
    return {s["keyid"] for s in document["signatures"]}


def _keys_dir(settings) -> Path:  # type: ignore[no-untyped-def]
    return settings.effective_tuf_keys_dir


def test_root_rotation_is_followed_by_old_clients(
    client, oci, root_json, tuf_cli, settings, tmp_path: Path
):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    known = make_updater(client, tmp_path / "known", root_json, oci.headers)
    known.refresh()
    old_root = json.loads(root_json)["signed"]["roles"]["root"]["keyids"]

    result = tuf_cli("tuf", "rotate-root")
    assert result.exit_code == 0, result.output
    v2 = _signed(client, "/tuf/2.root.json")
    new_root = v2["signed"]["roles"]["root"]["keyids"]
    assert set(new_root).isdisjoint(old_root)
    assert _signers(v2) == set(old_root) | set(new_root)  # N+1 signed by the old and the new
    assert all((_keys_dir(settings) / "retired" / f"{k}.pem").is_file() for k in old_root)
    assert not any((_keys_dir(settings) / f"{k}.pem").exists() for k in old_root)

    for directory in ("known", "fresh"):  # a client that refreshed before, and a new one
        updater = make_updater(client, tmp_path / directory, root_json, oci.headers)
        updater.refresh()
        trusted = json.loads((tmp_path / directory / "root.json").read_bytes())
        assert trusted["signed"]["version"] == 2
        assert updater.get_targetinfo("acme/model/1.0.0/@manifest") is not None

    assert tuf_cli("tuf", "rotate-root").exit_code == 0
    exported = tuf_cli("tuf", "export-root")
    assert json.loads(exported.output)["signed"]["version"] == 3
    make_updater(client, tmp_path / "known", root_json, oci.headers).refresh()


def test_online_key_rotation(client, oci, root_json, tuf_cli, settings, tmp_path: Path):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    make_updater(client, tmp_path / "meta", root_json, oci.headers).refresh()
    before = versions(client)
    old_online = json.loads(root_json)["signed"]["roles"]["timestamp"]["keyids"]

    result = tuf_cli("tuf", "rotate-online")
    assert result.exit_code == 0, result.output
    after = versions(client)
    for role in ("timestamp", "snapshot", "targets", "acme"):
        assert after[role] == before[role] + 1, role
    root = _signed(client, "/tuf/2.root.json")["signed"]
    online = root["roles"]["timestamp"]["keyids"]
    assert online != old_online
    assert root["roles"]["snapshot"]["keyids"] == root["roles"]["targets"]["keyids"] == online
    assert _signers(_signed(client, "/tuf/timestamp.json")) == set(online)
    assert (_keys_dir(settings) / "retired" / f"{old_online[0]}.pem").is_file()

    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    assert updater.get_targetinfo("acme/model/1.0.0/model.safetensors") is not None


def _acme_delegation(client) -> dict:  # type: ignore[no-untyped-def,type-arg]
    number = versions(client)["targets"]
    targets = _signed(client, f"/tuf/{number}.targets.json")["signed"]
    role: dict = next(r for r in targets["delegations"]["roles"] if r["name"] == "acme")  # type: ignore[type-arg]
    return role


def test_namespace_keys_with_threshold(client, oci, root_json, tuf_cli, settings, tmp_path: Path):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    default = _acme_delegation(client)
    assert (default["threshold"], len(default["keyids"])) == (1, 1)
    assert default["terminating"] is True and default["paths"] == ["acme/*/*/*"]

    result = tuf_cli("tuf", "namespace-keys", "acme", "--generate", "3", "--threshold", "2")
    assert result.exit_code == 0, result.output
    role = _acme_delegation(client)
    assert role["threshold"] == 2 and len(role["keyids"]) == 3
    acme = _signed(client, f"/tuf/{versions(client)['acme']}.acme.json", oci.headers)
    assert _signers(acme) == set(role["keyids"])
    assert (_keys_dir(settings) / "retired" / f"{default['keyids'][0]}.pem").is_file()

    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    assert updater.get_targetinfo("acme/model/1.0.0/@manifest") is not None

    # Rotation keeps the count and the threshold, with fresh keys.
    assert tuf_cli("tuf", "rotate-namespace", "acme").exit_code == 0
    rotated = _acme_delegation(client)
    assert rotated["threshold"] == 2 and len(rotated["keyids"]) == 3
    assert set(rotated["keyids"]).isdisjoint(role["keyids"])
    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()
    assert updater.get_targetinfo("acme/model/1.0.0/@manifest") is not None

    # Lose two of the three keys: the role can no longer reach its threshold.
    for keyid in rotated["keyids"][:2]:
        (_keys_dir(settings) / f"{keyid}.pem").unlink()
    stale = versions(client)
    push_version(oci, "1.1.0", {"model.safetensors": safetensors_bytes(b"\7" * 4)})
    assert versions(client)["acme"] == stale["acme"]  # never published under-signed
    failed = tuf_cli("tuf", "resign")
    assert failed.exit_code == 1
    assert "acme: Signing keys missing: role 'acme' needs 2 signature(s)" in failed.output
    assert "Traceback" not in failed.output
    updater = make_updater(client, tmp_path / "meta", root_json, oci.headers)
    updater.refresh()  # the other roles were re-signed; acme's old version stays valid
    assert updater.get_targetinfo("acme/model/1.0.0/@manifest") is not None
    assert updater.get_targetinfo("acme/model/1.1.0/@manifest") is None


def test_namespace_keys_from_pem_files(client, oci, root_json, tuf_cli, tmp_path: Path):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    private = Ed25519PrivateKey.generate()
    pem = tmp_path / "release.pem"
    pem.write_bytes(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    keyid = SSlibKey.from_crypto(private.public_key()).keyid

    result = tuf_cli("tuf", "namespace-keys", "acme", "--key", str(pem), "--threshold", "1")
    assert result.exit_code == 0, result.output
    assert _acme_delegation(client)["keyids"] == [keyid]
    acme = _signed(client, f"/tuf/{versions(client)['acme']}.acme.json", oci.headers)
    assert _signers(acme) == {keyid}
    make_updater(client, tmp_path / "meta", root_json, oci.headers).refresh()


def test_insecure_key_file_is_refused(client, oci, root_json, tuf_cli, settings):
    online = json.loads(root_json)["signed"]["roles"]["timestamp"]["keyids"][0]
    (_keys_dir(settings) / f"{online}.pem").chmod(0o644)
    result = tuf_cli("tuf", "resign")
    assert result.exit_code == 1
    assert "Insecure key file" in result.output and "chmod 600" in result.output
    assert result.output.count("\n") == 1


def test_root_keys_can_live_apart(client, oci, tuf_cli, settings, tmp_path: Path):
    """With CUSTODY_TUF_ROOT_KEYS_DIR the server never needs the root key (offline media)."""
    offline = {"CUSTODY_TUF_ROOT_KEYS_DIR": str(tmp_path / "offline")}
    root_path = tmp_path / "root.json"
    result = tuf_cli("tuf", "init", "--root-out", str(root_path), env_extra=offline)
    assert result.exit_code == 0, result.output
    root = json.loads(root_path.read_bytes())["signed"]
    root_keyid = root["roles"]["root"]["keyids"][0]
    assert (tmp_path / "offline" / f"{root_keyid}.pem").is_file()
    assert not (_keys_dir(settings) / f"{root_keyid}.pem").exists()
    assert (_keys_dir(settings) / f"{root['roles']['timestamp']['keyids'][0]}.pem").is_file()

    (tmp_path / "offline").rename(tmp_path / "unplugged")  # the medium is put away
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    make_updater(client, tmp_path / "meta", root_path.read_bytes(), oci.headers).refresh()
    refused = tuf_cli("tuf", "rotate-root", env_extra=offline)
    assert refused.exit_code == 1
    assert "role 'root' needs 1 signature(s)" in refused.output
    assert not (tmp_path / "offline").exists()  # refused before any new key was made

    (tmp_path / "unplugged").rename(tmp_path / "offline")
    assert tuf_cli("tuf", "rotate-root", env_extra=offline).exit_code == 0
    updater = make_updater(client, tmp_path / "meta", root_path.read_bytes(), oci.headers)
    updater.refresh()
    assert updater.get_targetinfo("acme/model/1.0.0/@manifest") is not None


def test_online_key_lost_serves_the_last_signed_timestamp(client, oci, root_json, settings):
    """A publication that cannot sign is logged, never a 500; clients judge expiry themselves."""
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    before = versions(client)
    online = json.loads(root_json)["signed"]["roles"]["timestamp"]["keyids"][0]
    key = _keys_dir(settings) / f"{online}.pem"
    key.rename(key.with_suffix(".away"))
    push_version(oci, "1.1.0", {"model.safetensors": safetensors_bytes(b"\6" * 4)})
    response = client.get("/tuf/timestamp.json")
    assert response.status_code == 200
    assert json.loads(response.content)["signed"]["version"] == before["timestamp"]
    assert versions(client) == before  # nothing half-published: acme's new version rolled back

    key.with_suffix(".away").rename(key)
    assert versions(client)["acme"] == before["acme"] + 1
