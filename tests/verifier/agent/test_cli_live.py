"""End to end: ``custody agent`` against a real ``custody serve`` with its own TUF repository."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from custody.cli import cli
from signing import generate_private_key
from tests.tuf_support import TufRegistry, tuf_registry  # noqa: F401  (a pytest fixture)
from tests.verifier.agent.models import add_model
from tests.verifier.agent.world import World
from verifier.distribution import RegistryClient


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_pull_run_status_against_the_registry(tuf_registry: TufRegistry, tmp_path: Path) -> None:  # noqa: F811
    world = World(tuf_registry.url, tuf_registry.admin_token, tmp_path, repository="acme/edge")
    policy = tmp_path / "trust.yaml"
    policy.write_text(world.policy_text())
    common = [
        "--registry", tuf_registry.url, "--token", tuf_registry.admin_token,
        "--trust-root", str(tuf_registry.root_path), "--policy", str(policy),
        "--cache", str(tmp_path / "cache"),
    ]  # fmt: skip
    reference = "acme/edge@production"

    def promote(version: str) -> None:
        with RegistryClient(tuf_registry.url, tuf_registry.admin_token) as client:
            client.api(
                "PUT", "/api/v1/models/acme/edge/aliases/production", json={"version": version}
            )

    world.push("1.0.0", add_model(np.ones(4)) | {"README.md": b"edge"})
    promote("1.0.0")
    code, out, err = _invoke("agent", "pull", reference, *common, "--json")
    assert code == 0, err
    pulled = json.loads(out)
    assert (pulled["ok"], pulled["version"], pulled["changed"]) == (True, "1.0.0", True)

    x = tmp_path / "x.npy"
    np.save(x, np.array([1, 2, 3, 4], dtype=np.float32))
    y = tmp_path / "y.npy"
    code, out, err = _invoke(
        "agent", "run", reference, *common, "--input", str(x), "--output", str(y)
    )
    assert code == 0, err
    assert np.load(y).tolist() == [2, 3, 4, 5]

    # 2.0.0 is signed by a key the edge does not trust: refused, 1.0.0 keeps serving
    world.push("2.0.0", add_model(np.full(4, 2.0)), key=generate_private_key("ed25519"))
    promote("2.0.0")
    code, out, err = _invoke("agent", "pull", reference, *common)
    assert code == 15
    assert err.startswith("FAILED [identity]: ") and len(err.strip().splitlines()) == 1
    code, out, err = _invoke("agent", "status", "--cache", str(tmp_path / "cache"), "--json")
    track = json.loads(out)["aliases"][reference]
    assert track["current"]["version"] == "1.0.0"
    assert track["last_failure"]["reason"] == "identity"
    code, out, err = _invoke(
        "agent", "run", reference, *common, "--offline", "--input", str(x), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["version"] == "1.0.0"

    # a properly signed 3.0.0 becomes current; 1.0.0 becomes previous
    world.push("3.0.0", add_model(np.full(4, 3.0)))
    promote("3.0.0")
    code, out, err = _invoke("agent", "pull", reference, *common, "--json")
    assert code == 0, err
    assert json.loads(out)["version"] == "3.0.0"
    code, out, err = _invoke("agent", "status", "--cache", str(tmp_path / "cache"))
    assert "current:  3.0.0" in out and "previous: 1.0.0" in out

    # 4.0.0's weights are altered in the registry's own storage after it was signed
    published = world.push("4.0.0", add_model(np.random.default_rng().random(4)))
    promote("4.0.0")
    digest = str(published.layers[0]["digest"]).removeprefix("sha256:")
    stored = tuf_registry.data_dir / "blobs" / "sha256" / digest[:2] / digest
    stored.write_bytes(stored.read_bytes()[:-1] + b"\0")
    code, out, err = _invoke("agent", "pull", reference, *common)
    assert code == 15 and err.startswith("FAILED [digest]: ")
    code, out, err = _invoke("agent", "run", reference, *common, "--input", str(x), "--json")
    assert code == 0 and json.loads(out)["version"] == "3.0.0"


def test_run_failures_are_one_line(tmp_path: Path) -> None:
    """Nothing pulled yet: one line, never a traceback."""
    root = tmp_path / "root.json"
    root.write_bytes(b"{}")
    policy = tmp_path / "trust.yaml"
    policy.write_text("version: 1\nnamespaces: []\n")
    common = ["--trust-root", str(root), "--policy", str(policy), "--cache", str(tmp_path / "c")]
    code, _, err = _invoke("agent", "run", "acme/x@production", *common)
    assert code == 15 and err.startswith("FAILED [offline]: no verified version")
