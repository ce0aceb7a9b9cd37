"""Pull and load: the happy path, incremental updates, last known good, status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from custody.cli import cli
from tests.verifier.agent.models import add_model
from tests.verifier.agent.world import World

X = np.array([1, 2, 3, 4], dtype=np.float32)


def _run(session: object) -> list[float]:
    return session.run(None, {"x": X})[0].tolist()  # type: ignore[attr-defined]


def test_pull_verifies_and_loads_the_current_version(world: World) -> None:
    world.release("1.0.0", add_model(np.ones(4)) | {"README.md": b"hello"})
    agent = world.agent()
    result = agent.pull(world.repository, "production")
    assert (result.version, result.changed) == ("1.0.0", True)
    assert result.downloaded_bytes == sum(len(v) for v in world.published["1.0.0"].files.values())
    assert _run(agent.load_session(world.repository, "production")) == [2, 3, 4, 5]

    for _ in range(2):  # unchanged pulls renew the record and keep everything in it
        again = agent.pull(world.repository, "production")
        assert (again.changed, again.downloaded_bytes) == (False, 0)
    assert _run(agent.load_session(world.repository, "production")) == [2, 3, 4, 5]
    status = agent.status()["aliases"][f"{world.repository}@production"]
    assert status["current"]["version"] == "1.0.0" and status["last_failure"] is None


def test_cli_run_from_the_cache(world: World, tmp_path: Path) -> None:
    """``custody agent run`` loads what the agent pulled; a bad input is one FAILED line."""
    world.release("1.0.0", add_model(np.ones(4)))
    world.agent().pull(world.repository, "production")
    root, policy = tmp_path / "root.json", tmp_path / "trust.yaml"
    root.write_bytes(world.tuf.root_bytes())
    policy.write_text(world.policy_text())
    cache = str(world.root / "cache")
    x, wrong = tmp_path / "x.npy", tmp_path / "wrong.npy"
    np.save(x, X)
    np.save(wrong, np.ones(3, dtype=np.float32))
    run = ["agent", "run", f"{world.repository}@production", "--trust-root", str(root)]
    run += ["--policy", str(policy), "--cache", cache]
    ok = CliRunner().invoke(cli, [*run, "--offline", "--input", str(x)])
    assert ok.exit_code == 0 and "  y: shape [4] float32 [2.0, 3.0, 4.0, 5.0]" in ok.stdout
    bad = CliRunner().invoke(cli, [*run, "--input", str(wrong)])
    assert bad.exit_code == 18 and bad.stderr.startswith("FAILED [format]: inference failed")
    assert len(bad.stderr.strip().splitlines()) == 1
    # a cached file altered on disk: fetched again, and the run says so after its result
    record = world.agent().status()["aliases"][f"{world.repository}@production"]["current"]
    blob = world.root / "cache" / "blobs" / "sha256" / record["files"][0]["sha256"][7:]
    blob.chmod(0o600)
    blob.write_bytes(blob.read_bytes()[:-1] + b"\0")
    healed = CliRunner().invoke(cli, [*run, "--token", world.token, "--input", str(x)])
    assert healed.exit_code == 0, healed.stderr
    assert "[2.0, 3.0, 4.0, 5.0]" in healed.stdout
    assert healed.stderr == "warning: cached model.onnx was altered on disk: fetching it again\n"
