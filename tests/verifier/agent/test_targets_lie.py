"""Signed TUF targets that disagree with the registry's bytes, and malformed inputs: refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from custody.cli import cli
from tests.verifier.agent.models import add_model
from tests.verifier.agent.tuf_repository import quoted
from tests.verifier.agent.world import World
from verifier.agent import Agent, AgentError
from verifier.agent.fetchers import MIRROR_BASE_URL, DirectoryFetcher

ALIAS = "production"


@pytest.fixture
def good(world: World) -> Agent:
    world.release("1.0.0", add_model(np.ones(4)))
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    return agent


def _refused(agent: Agent, world: World, reason: str) -> None:
    with pytest.raises(AgentError) as caught:
        agent.pull(world.repository, ALIAS)
    assert caught.value.check == reason, caught.value.diagnostics()
    assert agent.status()["aliases"][f"{world.repository}@{ALIAS}"]["current"]["version"] == "1.0.0"


def _file_target(world: World, version: str, title: str = "model.onnx") -> str:
    return f"{world.repository}/{version}/{quoted(title)}"


def test_file_target_with_another_digest(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)))
    world.sign_version(published)
    target = world.tuf.delegated["acme"].signed.targets[_file_target(world, "2.0.0")]
    target.hashes["sha256"] = "0" * 64
    world.set_alias(ALIAS, published)
    world.tuf.publish()
    _refused(good, world, "digest")


def test_file_target_with_another_length(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)))
    world.sign_version(published)
    world.tuf.delegated["acme"].signed.targets[_file_target(world, "2.0.0")].length += 1
    world.set_alias(ALIAS, published)
    world.tuf.publish()
    _refused(good, world, "digest")


def test_file_target_signed_for_another_manifest(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)))
    world.sign_version(published)
    target = world.tuf.delegated["acme"].signed.targets[_file_target(world, "2.0.0")]
    target.unrecognized_fields["custom"]["manifest"] = "sha256:" + "1" * 64
    world.set_alias(ALIAS, published)
    world.tuf.publish()
    _refused(good, world, "unsigned")


def test_unsigned_file_in_the_version(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)) | {"extra.json": b"{}"})
    world.sign_version(published)
    world.tuf.remove_target("acme", _file_target(world, "2.0.0", "extra.json"))
    world.set_alias(ALIAS, published)
    world.tuf.publish()
    _refused(good, world, "unsigned")


def test_alias_and_version_disagree(world: World, good: Agent) -> None:
    two = world.push("2.0.0", add_model(np.full(4, 2.0)))
    three = world.push("3.0.0", add_model(np.full(4, 3.0)))
    world.sign_version(two)
    world.sign_version(three)
    # the alias document names 2.0.0 but carries 3.0.0's manifest
    world.tuf.add_target(
        "acme",
        f"{world.repository}/@alias/{ALIAS}",
        three.manifest,
        {"version": "2.0.0", "manifest": three.digest},
    )
    world.tuf.publish()
    _refused(good, world, "unsigned")


def test_alias_without_a_version(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)))
    world.sign_version(published)
    world.tuf.add_target("acme", f"{world.repository}/@alias/{ALIAS}", published.manifest, {})
    world.tuf.publish()
    _refused(good, world, "format")


def test_offline_pull_cannot_fetch_a_new_version(world: World, good: Agent) -> None:
    world.release("2.0.0", add_model(np.full(4, 2.0)))
    mirror = world.root / "mirror"
    mirror.mkdir()
    for name, data in world.tuf.files.items():
        (mirror / name).write_bytes(data)
    _refused(world.agent(offline=True, mirror=mirror), world, "offline")


def test_cache_of_another_registry_is_refused(world: World, good: Agent) -> None:
    other = world.agent(registry="http://127.0.0.1:1")
    _refused(other, world, "storage")


@pytest.mark.parametrize(
    ("repository", "alias"),
    [("acme", "production"), ("acme/a/b", "production"), ("Acme/x", "p"), ("acme/x", "../p")],
)
def test_malformed_references(world: World, repository: str, alias: str) -> None:
    with pytest.raises(AgentError) as caught:
        world.agent().pull(repository, alias)
    assert caught.value.check == "format"


@pytest.mark.parametrize("name", ["../root.json", "a/b.json", "..", "", "x\\y.json"])
def test_directory_fetcher_serves_only_plain_names(tmp_path: Path, name: str) -> None:
    (tmp_path / "root.json").write_bytes(b"{}")
    from tuf.api.exceptions import DownloadHTTPError

    with pytest.raises(DownloadHTTPError):
        DirectoryFetcher(tmp_path / "mirror").fetch(MIRROR_BASE_URL + name)


def test_cli_failure_is_one_line_and_json(world: World, good: Agent, tmp_path: Path) -> None:
    policy = tmp_path / "trust.yaml"
    policy.write_text(world.policy_text())
    root = tmp_path / "root.json"
    root.write_bytes(world.tuf.root_bytes())
    # the registry serves no /tuf/ metadata for this test repository: a network failure
    args = [
        "agent", "pull", f"{world.repository}@{ALIAS}", "--registry", "http://127.0.0.1:9",
        "--trust-root", str(root), "--policy", str(policy), "--cache", str(tmp_path / "c2"),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 18
    assert result.stderr.startswith("FAILED [network]: ") and result.stderr.count("\n") == 1
    assert '"reason": "network"' in result.stdout
    bad = CliRunner().invoke(cli, ["agent", "pull", "no-alias", *args[3:]])
    assert bad.exit_code == 2 and "REPOSITORY@ALIAS" in bad.stderr
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("version: 1\nnamespaces: 3\n")
    result = CliRunner().invoke(cli, [*args[:-4], "--policy", str(bad_policy), *args[-2:]])
    assert result.exit_code == 3 and result.stderr.startswith("FAILED [policy-file]")
