"""Each attack: the agent refuses with a reason code and the last known good keeps serving."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from freezegun import freeze_time
from securesystemslib.signer import CryptoSigner

from signing import generate_private_key
from tests.support.text_edit import replace_once
from tests.verifier.agent.models import add_model
from tests.verifier.agent.world import World
from verifier.agent import Agent, AgentError
from verifier.trust_policy_file import parse_trust_policy

X = np.array([1, 2, 3, 4], dtype=np.float32)
ALIAS = "production"


def _serving(agent: Agent, world: World, expected_version: str, plus: float) -> None:
    """The last known good is still current, loadable, and computes with its own weights."""
    track = agent.status()["aliases"][f"{world.repository}@{ALIAS}"]
    assert track["current"]["version"] == expected_version
    session = agent.load_session(world.repository, ALIAS)
    assert session.run(None, {"x": X})[0].tolist() == (X + plus).tolist()


def _refused(agent: Agent, world: World, reason: str) -> AgentError:
    with pytest.raises(AgentError) as caught:
        agent.pull(world.repository, ALIAS)
    assert caught.value.check == reason, caught.value.diagnostics()
    failure = agent.status()["aliases"][f"{world.repository}@{ALIAS}"]["last_failure"]
    assert failure["reason"] == reason
    return caught.value


@pytest.fixture
def good(world: World) -> Agent:
    """Version 1.0.0 (w = 1) pulled and current."""
    world.release("1.0.0", add_model(np.ones(4)))
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    return agent


def test_tampered_blob_on_the_server(world: World, good: Agent) -> None:
    # weights no other test uses: the registry stores each blob once for all repositories
    published = world.release("2.0.0", add_model(np.random.default_rng().random(4)))
    digest = str(published.layers[0]["digest"]).removeprefix("sha256:")
    assert world.server_blobs is not None
    stored = world.server_blobs / "sha256" / digest[:2] / digest
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))
    _refused(good, world, "digest")
    _serving(good, world, "1.0.0", 1)
    assert not list((world.root / "cache" / "blobs" / "sha256").glob(f"{digest}*"))


def test_rollback_to_older_metadata(world: World, good: Agent) -> None:
    old_timestamp = world.tuf.files["timestamp.json"]
    world.release("2.0.0", add_model(np.full(4, 2.0)))
    good.pull(world.repository, ALIAS)
    world.tuf.files["timestamp.json"] = old_timestamp  # the attacker replays an older state
    _refused(good, world, "rollback")
    _serving(good, world, "2.0.0", 2)


def test_frozen_expired_timestamp(world: World, good: Agent) -> None:
    # The repository stops changing; a day later its timestamp has expired.
    with freeze_time(timedelta(days=2)):
        _refused(good, world, "expired")
        with pytest.raises(AgentError) as refused:
            good.load_session(world.repository, ALIAS)  # no grace: refuse to serve stale
        assert refused.value.check == "expired"
        lenient = world.agent(grace=timedelta(days=3))
        _serving(lenient, world, "1.0.0", 1)
    with freeze_time(timedelta(days=5)), pytest.raises(AgentError, match="grace period ended"):
        lenient.load_session(world.repository, ALIAS)


def test_mix_and_match_snapshot_and_targets(world: World, good: Agent) -> None:
    namespace_version = world.tuf.delegated["acme"].signed.version
    old_role = world.tuf.files[f"{namespace_version}.acme.json"]
    world.release("2.0.0", add_model(np.full(4, 2.0)))
    new_version = world.tuf.delegated["acme"].signed.version
    # the new snapshot with the namespace role of an older time
    world.tuf.files[f"{new_version}.acme.json"] = old_role
    _refused(good, world, "rollback")
    _serving(good, world, "1.0.0", 1)


def test_targets_role_below_threshold_and_one_key_twice(world: World) -> None:
    world.tuf.add_namespace("acme", threshold=2, keys=2)
    world.release("1.0.0", add_model(np.ones(4)))
    agent = world.agent()
    agent.pull(world.repository, ALIAS)
    first = world.tuf.signers["acme"][0]
    world.push("2.0.0", add_model(np.full(4, 2.0)))
    world.sign_version(world.published["2.0.0"])
    world.set_alias(ALIAS, world.published["2.0.0"])
    world.tuf.publish(namespace_signers={"acme": [first]})
    _refused(agent, world, "threshold")
    _serving(agent, world, "1.0.0", 1)

    # one key's signature listed twice must not count as two
    name = f"{world.tuf.delegated['acme'].signed.version}.acme.json"
    document = json.loads(world.tuf.files[name])
    document["signatures"] = document["signatures"] * 2
    world.tuf.files[name] = json.dumps(document).encode()
    error = _refused(agent, world, "format")
    assert "Multiple signatures" in str(error)
    _serving(agent, world, "1.0.0", 1)


def test_namespace_key_signing_outside_its_namespace(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)))
    # acme's role lists a target in beta's namespace: beta is never delegated to acme
    world.repository, original = "beta/model", world.repository
    world.set_alias(ALIAS, published, namespace="acme")
    world.tuf.publish()
    with pytest.raises(AgentError) as caught:
        good.pull("beta/model", ALIAS)
    assert caught.value.check == "not-found"  # beta's own role names no such alias
    # beta's own role signed with acme's key
    world.set_alias(ALIAS, published, namespace="beta")
    world.tuf.publish(namespace_signers={"beta": world.tuf.signers["acme"]})
    with pytest.raises(AgentError) as caught:
        good.pull("beta/model", ALIAS)
    assert caught.value.check == "threshold"
    world.repository = original
    _serving(good, world, "1.0.0", 1)


def test_alias_pointing_at_an_unsigned_version(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)))
    world.set_alias(ALIAS, published)  # the version's own targets are not signed
    world.tuf.publish()
    _refused(good, world, "unsigned")
    _serving(good, world, "1.0.0", 1)


def test_version_without_an_oms_signature(world: World, good: Agent) -> None:
    published = world.push("2.0.0", add_model(np.full(4, 2.0)), sign=False)
    world.sign_version(published)
    world.set_alias(ALIAS, published)
    world.tuf.publish()
    _refused(good, world, "policy")
    _serving(good, world, "1.0.0", 1)


def test_version_signed_by_an_untrusted_key(world: World, good: Agent) -> None:
    stranger = generate_private_key("ed25519")
    published = world.push("2.0.0", add_model(np.full(4, 2.0)), key=stranger)
    world.sign_version(published)
    world.set_alias(ALIAS, published)
    world.tuf.publish()
    _refused(good, world, "identity")
    _serving(good, world, "1.0.0", 1)


def test_network_failure(world: World, good: Agent) -> None:
    world.release("2.0.0", add_model(np.full(4, 2.0)))
    world.fetcher.offline = True
    _refused(good, world, "network")
    _serving(good, world, "1.0.0", 1)
    config = world.agent(cache="elsewhere", registry="http://127.0.0.1:9").config
    unreachable = Agent(replace(config, metadata_fetcher=None))  # the real HTTP fetcher
    with pytest.raises(AgentError) as caught:
        unreachable.pull(world.repository, ALIAS)
    assert caught.value.check == "network"
    assert str(caught.value).startswith("could not reach the registry at http://127.0.0.1:9 (")
    # the registry that failed does not claim the cache: the right one can fill it
    world.fetcher.offline = False
    assert world.agent(cache="elsewhere").pull(world.repository, ALIAS).version == "2.0.0"


def test_unknown_signing_key_for_timestamp(world: World, good: Agent) -> None:
    world.tuf.signers["timestamp"] = [CryptoSigner.generate_ed25519()]
    world.release("2.0.0", add_model(np.full(4, 2.0)))
    _refused(good, world, "threshold")
    _serving(good, world, "1.0.0", 1)


def test_audit_level_rule_is_honoured_and_recorded(world: World) -> None:
    stranger = generate_private_key("ed25519")
    world.push("1.0.0", add_model(np.ones(4)), key=stranger)
    world.sign_version(world.published["1.0.0"])
    world.set_alias(ALIAS, world.published["1.0.0"])
    world.tuf.publish()
    audit = replace_once(world.policy_text(), "threshold: 1\n", "threshold: 1\n    level: audit\n")
    agent = Agent(replace(world.agent().config, trust_policy=parse_trust_policy(audit)))
    assert agent.pull(world.repository, ALIAS).version == "1.0.0"
    signers = agent.status()["aliases"][f"{world.repository}@{ALIAS}"]["current"]["signers"]
    assert signers and signers[0].startswith("unverified, accepted by audit")


def test_a_key_removed_from_the_policy_stops_its_versions(world: World, good: Agent) -> None:
    other = generate_private_key("ed25519")
    distrusting = world.agent(policy_key=other)  # same cache, today's policy trusts another key
    with pytest.raises(AgentError) as caught:
        distrusting.load_session(world.repository, ALIAS)
    assert caught.value.check == "identity"
    _refused(distrusting, world, "identity")  # an unchanged pull re-checks it too
    no_rule = Agent(
        replace(good.config, trust_policy=parse_trust_policy("version: 1\nnamespaces: []\n"))
    )
    with pytest.raises(AgentError) as caught:
        no_rule.load_session(world.repository, ALIAS)
    assert caught.value.check == "policy"


# -- the cache directory as an operator types it ---------------------------------------


@pytest.fixture(params=["relative", "absolute", "symlink"])
def cache_path(
    request: pytest.FixtureRequest, world: World, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """``--cache`` relative to the working directory, absolute, or through a symlink."""
    if request.param == "relative":
        monkeypatch.chdir(world.root)
        return Path("cache")
    if request.param == "symlink":
        (world.root / "real-cache").mkdir()
        (world.root / "cache").symlink_to(world.root / "real-cache")
    return world.root / "cache"


def test_replayed_metadata_is_refused_whatever_the_cache_path(
    world: World, cache_path: Path
) -> None:
    world.release("2.0.0", add_model(np.full(4, 2.0)))
    agent = world.agent(cache=cache_path)
    agent.pull(world.repository, ALIAS)
    old_timestamp = world.tuf.files["timestamp.json"]  # vouches for 2.0.0's snapshot
    world.release("4.0.0", add_model(np.full(4, 4.0)))
    assert agent.pull(world.repository, ALIAS).version == "4.0.0"
    world.tuf.files["timestamp.json"] = old_timestamp  # the registry replays the old state
    _refused(agent, world, "rollback")
    _serving(agent, world, "4.0.0", 4)
    _refused(world.agent(cache=cache_path), world, "rollback")  # after a restart too
    assert len(list((world.root / "cache").glob("tuf.*"))) == 1  # one trusted copy, kept


@pytest.mark.parametrize("refusal", ["mistyped alias", "registry down", "another registry"])
def test_offline_load_after_a_refused_pull_whatever_the_cache_path(
    world: World, cache_path: Path, refusal: str
) -> None:
    world.release("1.0.0", add_model(np.ones(4)))
    world.agent(cache=cache_path).pull(world.repository, ALIAS)
    with pytest.raises(AgentError) as caught:
        if refusal == "mistyped alias":
            world.agent(cache=cache_path).pull(world.repository, "prodution")
        elif refusal == "registry down":
            world.fetcher.offline = True
            world.agent(cache=cache_path).pull(world.repository, ALIAS)
        else:
            world.agent(cache=cache_path, registry="http://127.0.0.1:9").pull(
                world.repository, ALIAS
            )
    expected = {"mistyped alias": "not-found", "registry down": "network"}
    assert caught.value.check == expected.get(refusal, "storage")
    _serving(world.agent(cache=cache_path, offline=True), world, "1.0.0", 1)


def test_a_mistyped_alias_is_not_found(world: World, good: Agent) -> None:
    with pytest.raises(AgentError) as caught:
        good.pull(world.repository, "prodution")
    assert caught.value.check == "not-found"
    assert str(caught.value).startswith(f"no such alias 'prodution' in {world.repository}")
    assert str(caught.value).endswith(f"this cache follows {world.repository}@{ALIAS}")
    with pytest.raises(AgentError) as caught:
        good.load_session(world.repository, "prodution")
    assert caught.value.check == "offline"
    assert str(caught.value) == (
        f"no verified version of {world.repository}@prodution yet: pull it first; "
        f"this cache follows {world.repository}@{ALIAS}"
    )
