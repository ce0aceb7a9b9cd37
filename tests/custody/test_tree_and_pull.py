"""``custody tree``, ``pull --verify``, ``alias delete``, ``audit`` and ``publish``'s default
ML-BOM against a live registry with a trust policy and the reprint hub on (issue 14)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from custody.cli import cli
from signing.keys import key_id, load_private_key, write_key_pair
from signing.signers import KeySigner
from tests.custody.conftest import small_model
from tests.interop.conftest import LiveRegistry
from tests.registry.hub.conftest import Keys, generate, write_reprint_policy, write_trust_policy
from tests.support.databases import fresh_database
from tests.support.live import running_server


class HubRegistry(LiveRegistry):
    keys: Keys
    release_key: Path
    trust: Path
    stranger_trust: Path


def _keys(root: Path) -> tuple[Keys, Path]:
    signers = []
    for name in ("creator", "node", "stranger", "release"):
        paths = write_key_pair(root / f"{name}.pem", "ecdsa-p256", None)
        signers.append(KeySigner(load_private_key(paths.private.read_bytes(), None)))
    return Keys(*signers), root / "release.pem"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub_registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubRegistry]:
    root = tmp_path_factory.mktemp("tree-live")
    keys, release_key = _keys(root)
    trust = write_trust_policy(root, keys)
    stranger_dir = root / "stranger"
    stranger_dir.mkdir()
    stranger_trust = write_trust_policy(stranger_dir, replace(keys, release=keys.stranger))
    url = fresh_database(request, root)
    env = {
        "CUSTODY_TRUST_POLICY": str(trust),
        "CUSTODY_REPRINT_POLICY": str(write_reprint_policy(root, keys)),
    }
    with running_server(root / "data", url, env) as base:
        live = HubRegistry(base, base.removeprefix("http://"), root / "data", url)
        live.keys, live.release_key = keys, release_key
        live.trust, live.stranger_trust = trust, stranger_trust
        yield live


def _run(live: LiveRegistry, token: str, *args: str) -> Result:
    env = {"CUSTODY_REGISTRY": live.base, "CUSTODY_TOKEN": token}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_publish_attaches_an_ml_bom_by_default(hub_registry: HubRegistry, tmp_path: Path) -> None:
    token = hub_registry.token()
    model = str(small_model(tmp_path / "m"))
    key = str(hub_registry.release_key)
    summary = json.loads(
        _ok(
            _run(hub_registry, token, "publish", model, "acme/bom:1.0.0", "--key", key, "--json")
        ).stdout
    )
    assert summary["sbom"].startswith("sha256:")
    text = _ok(_run(hub_registry, token, "publish", model, "acme/bom:1.0.1", "--key", key)).stdout
    assert "(2 files," in text and "ML-BOM attached" in text
    bare = _ok(
        _run(hub_registry, token, "publish", model, "acme/bom:1.0.2", "--key", key, "--no-sbom")
    )
    assert "no ML-BOM" in bare.stdout
    tree = json.loads(_ok(_run(hub_registry, token, "tree", "acme/bom:1.0.2", "--json")).stdout)
    assert tree["sbom"] is None
    both = _run(hub_registry, token, "publish", model, "acme/bom:1.0.3", "--key", key,
                "--no-sbom", "--sbom-from-files")  # fmt: skip
    assert both.exit_code == 2 and "one of" in both.output


def test_tree_shows_a_versions_whole_custody(hub_registry: HubRegistry, tmp_path: Path) -> None:
    token = hub_registry.token()
    source = small_model(tmp_path / "m")
    key = str(hub_registry.release_key)
    _ok(_run(hub_registry, token, "publish", str(source), "acme/tree:1.0.0", "--key", key,
             "--alias", "staging"))  # fmt: skip
    digest = json.loads(_ok(_run(hub_registry, token, "ls", "acme/tree", "--json")).stdout)[
        "versions"
    ][0]["digest"]
    gen = generate(hub_registry.keys, f"acme/tree@{digest}")
    registered = httpx.post(
        f"{hub_registry.base}/api/v1/outputs",
        files=gen.files(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert registered.status_code == 201, registered.text

    tree = json.loads(_ok(_run(hub_registry, token, "tree", "acme/tree:1.0.0", "--json")).stdout)
    assert tree["digest"] == digest
    assert {f["name"]: f["digest"] for f in tree["files"]} == _digests(source)
    assert {f["name"]: f["size"] for f in tree["files"]} == {
        p.name: p.stat().st_size for p in source.iterdir()
    }
    [signature] = tree["signatures"]
    assert signature["outcome"] == "verified" and signature["trusted_as"] == "release"
    assert tree["sbom"]["digest"].startswith("sha256:")
    assert tree["aliases"] == ["staging"]
    assert [o["image_digest"] for o in tree["outputs"]] == [gen.digest]

    via_alias = json.loads(
        _ok(_run(hub_registry, token, "tree", "acme/tree:staging", "--json")).stdout
    )
    assert via_alias["digest"] == digest and via_alias["version"] == "1.0.0"

    text = _ok(_run(hub_registry, token, "tree", "acme/tree:1.0.0")).stdout
    assert text.splitlines()[0] == f"acme/tree:1.0.0 {digest}"
    assert "files (2 files" in text and "verified  signer key" in text
    assert f"{gen.digest}  by alice@acme.example" in text and "└── staging" in text


def test_pull_verify_writes_only_after_the_signature_holds(
    hub_registry: HubRegistry, tmp_path: Path
) -> None:
    token = hub_registry.token()
    source = small_model(tmp_path / "m")
    (source / "config.json").chmod(0o600)
    key = str(hub_registry.release_key)
    _ok(_run(hub_registry, token, "publish", str(source), "acme/pv:1.0.0", "--key", key))
    _ok(_run(hub_registry, token, "push", str(source), "acme/pv:1.0.1"))  # unsigned, newest

    out = tmp_path / "out"
    pulled = _ok(_run(hub_registry, token, "pull", "acme/pv:1.0.0", str(out),
                      "--verify", "--policy", str(hub_registry.trust)))  # fmt: skip
    assert "signature verified" in pulled.stdout and "(release)" in pulled.stdout
    assert _digests(out) == _digests(source)
    umask = os.umask(0)
    os.umask(umask)
    for path in out.iterdir():  # created as any download is: 0666 less the umask
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask

    for reference, policy, words in (
        ("acme/pv:1.0.0", hub_registry.stranger_trust, "not by the trusted key"),
        ("acme/pv:1.0.1", hub_registry.trust, "has no OMS signature"),
        ("acme/pv", hub_registry.trust, "acme/pv@sha256:"),  # the newest version: unsigned
    ):
        refused_dir = tmp_path / "refused"
        refused = _run(hub_registry, token, "pull", reference, str(refused_dir),
                       "--verify", "--policy", str(policy))  # fmt: skip
        assert refused.exit_code != 0
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("FAILED [") and words in lines[0]
        assert not refused_dir.exists()
        assert not [p for p in tmp_path.iterdir() if "custody-pull" in p.name]

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    refused = _run(hub_registry, token, "pull", "acme/pv:1.0.1", str(existing),
                   "--verify", "--policy", str(hub_registry.trust))  # fmt: skip
    assert refused.exit_code != 0 and sorted(p.name for p in existing.iterdir()) == ["keep.txt"]
    _ok(_run(hub_registry, token, "pull", "acme/pv:1.0.0", str(existing),
             "--verify", "--policy", str(hub_registry.trust)))  # fmt: skip
    assert sorted(p.name for p in existing.iterdir()) == [
        "config.json",
        "keep.txt",
        "model.safetensors",
    ]

    usage = _run(hub_registry, token, "pull", "acme/pv:1.0.0", str(out), "--verify")
    assert usage.exit_code == 2 and "go together" in usage.output


def test_pull_without_a_tag_takes_the_version_ls_calls_latest(
    hub_registry: HubRegistry, tmp_path: Path
) -> None:
    token = hub_registry.token()
    for version, text in (("1.0.0", "one"), ("1.1.0", "two")):
        source = tmp_path / version
        source.mkdir()
        (source / "config.json").write_text(text)
        _ok(_run(hub_registry, token, "push", str(source), f"acme/latest:{version}"))
    listed = _ok(_run(hub_registry, token, "ls")).stdout
    assert "acme/latest  versions=2  latest=1.1.0" in listed
    pulled = _ok(_run(hub_registry, token, "pull", "acme/latest", str(tmp_path / "out")))
    assert "acme/latest:1.1.0" in pulled.stdout and "(1 file)" in pulled.stdout
    assert (tmp_path / "out" / "config.json").read_text() == "two"


def test_search_by_signer(hub_registry: HubRegistry, tmp_path: Path) -> None:
    token = hub_registry.token()
    model, key = str(small_model(tmp_path / "m")), hub_registry.release_key
    _ok(_run(hub_registry, token, "publish", model, "acme/found:1.0.0", "--key", str(key)))
    _ok(_run(hub_registry, token, "push", str(small_model(tmp_path / "u")), "acme/unsigned:1.0.0"))
    release = key_id(load_private_key(key.read_bytes(), None).public_key())
    found = _run(hub_registry, token, "search", "--signer", release[:16], "--namespace", "acme")
    # Other tests of this module publish with the same key: this one's version is among them.
    lines = _ok(found).stdout.splitlines()
    assert any(line.startswith("acme/found:1.0.0  sha256:") for line in lines), lines
    assert "unsigned" not in found.stdout
    answer = json.loads(
        _ok(_run(hub_registry, token, "search", "--signer", release, "--json")).stdout
    )
    hits = [(v["model"], v["version"]) for v in answer["versions"]]
    assert ("acme/found", "1.0.0") in hits and ("acme/unsigned", "1.0.0") not in hits
    assert answer["total"] == len(hits)
    nobody = _run(hub_registry, token, "search", "--signer", "nobody@example.com")
    assert nobody.exit_code == 0 and nobody.stdout == "" and "no version matches" in nobody.stderr
    usage = _run(hub_registry, token, "search", "--namespace", "acme")
    assert usage.exit_code == 2 and "at least one of" in usage.output
    refused = _run(hub_registry, token, "search", "--signer", "x", "--namespace", "Not Valid")
    assert refused.exit_code == 1 and "namespace" in refused.stderr


def test_alias_delete_and_audit(hub_registry: HubRegistry, tmp_path: Path) -> None:
    token = hub_registry.token()
    site = hub_registry.token("*", "admin")
    model, key = str(small_model(tmp_path / "m")), str(hub_registry.release_key)
    _ok(_run(hub_registry, token, "publish", model, "acme/al:1.0.0", "--key", key))
    moved = json.loads(
        _ok(
            _run(hub_registry, token, "alias", "set", "acme/al", "stagng", "1.0.0", "--json")
        ).stdout
    )
    assert moved["alias"] == "stagng" and moved["previous"] is None
    deleted = _ok(_run(hub_registry, token, "alias", "delete", "acme/al", "stagng", "--json"))
    assert json.loads(deleted.stdout) == {
        "model": "acme/al", "alias": "stagng", "previous": moved["current"]
    }  # fmt: skip
    listed = json.loads(_ok(_run(hub_registry, token, "ls", "acme/al", "--json")).stdout)
    assert listed["aliases"] == []
    again = _run(hub_registry, token, "alias", "delete", "acme/al", "stagng")
    assert again.exit_code == 1 and "has no alias stagng" in again.stderr
    version = _run(hub_registry, token, "alias", "delete", "acme/al", "1.0.0")
    assert version.exit_code == 1 and "immutable" in version.stderr

    audit = ("audit", "--namespace", "acme", "--action", "alias.move", "--since", "1h", "--json")
    page = json.loads(_ok(_run(hub_registry, token, *audit)).stdout)
    subjects = [e["subject"] for e in page["events"]]
    assert "acme/al:stagng" in subjects
    assert all(e["action"] == "alias.move" for e in page["events"])
    actor = page["events"][0]["actor"]
    mine = json.loads(_ok(_run(hub_registry, site, "audit", "--actor", actor, "--json")).stdout)
    assert mine["events"] and all(e["actor"] == actor for e in mine["events"])
    future = json.loads(_ok(_run(hub_registry, site, "audit", "--since", "2999-01-01",
                                 "--json")).stdout)  # fmt: skip
    assert future["events"] == []
    text = _ok(_run(hub_registry, token, "audit", "--namespace", "acme", "--limit", "1")).stdout
    assert len(text.splitlines()) == 1
    newest = ("audit", "--namespace", "acme", "--limit", "2", "--before", str(2**63 - 1))
    last_two = _ok(_run(hub_registry, token, *newest, "--json")).stdout
    older = json.loads(last_two)["prev_before"]
    assert older is not None
    shown = _ok(_run(hub_registry, token, *newest))
    assert f"older: custody audit --before {older}" in shown.stderr
    earlier = json.loads(
        _ok(_run(hub_registry, token, "audit", "--namespace", "acme", "--before", str(older),
                 "--limit", "2", "--json")).stdout
    )  # fmt: skip
    assert earlier["events"] and max(e["id"] for e in earlier["events"]) < older
    bad = _run(hub_registry, token, "audit", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in bad.output
    not_site = _run(hub_registry, token, "audit")
    assert not_site.exit_code == 1 and "site admin" in not_site.stderr
