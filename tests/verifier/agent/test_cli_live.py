"""End to end: ``custody agent`` against a real ``custody serve`` with its own TUF repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from click.testing import CliRunner

from custody.cli import cli
from signing import generate_private_key
from tests.support.live import CUSTODY
from tests.support.tuf import TufRegistry, tuf_registry  # noqa: F401  (a pytest fixture)
from tests.verifier.agent.models import add_model
from tests.verifier.agent.tuf_repository import TufRepository
from tests.verifier.agent.world import World
from verifier.clients.registry import RegistryClient


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
    assert code == 18
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
    assert code == 18 and err.startswith("FAILED [digest]: ")
    code, out, err = _invoke("agent", "run", reference, *common, "--input", str(x), "--json")
    assert code == 0 and json.loads(out)["version"] == "3.0.0"


def test_run_failures_are_one_line(tmp_path: Path) -> None:
    """Nothing pulled yet, no registry, no root metadata: one line, never a traceback."""
    root = tmp_path / "root.json"
    root.write_bytes(TufRepository(lifetime=timedelta(days=1)).root_bytes())
    policy = tmp_path / "trust.yaml"
    policy.write_text("version: 1\nnamespaces: []\n")
    common = ["--trust-root", str(root), "--policy", str(policy), "--cache", str(tmp_path / "c")]
    code, _, err = _invoke("agent", "run", "acme/x@production", *common)
    assert code == 18 and err.startswith("FAILED [offline]: no verified version")
    code, _, err = _invoke("agent", "pull", "acme/x@production", *common)
    assert code == 18 and err.splitlines() == [
        "FAILED [offline]: no registry to pull from: give --registry URL (or "
        "$CUSTODY_REGISTRY), or --offline to re-check the cached version"
    ]
    root.write_bytes(b"{}")
    code, _, err = _invoke("agent", "run", "acme/x@production", *common)
    assert code == 3 and err.startswith("FAILED [trust-root]: ") and "no signed._type" in err


def _mirror_of(trusted: Path, into: Path) -> Path:
    """A ``--mirror`` directory with the metadata the agent trusts now (to replay it later)."""
    into.mkdir()
    for path in trusted.glob("*.json"):
        if path.name == "timestamp.json":
            shutil.copyfile(path, into / path.name)
        else:
            version = json.loads(path.read_bytes())["signed"]["version"]
            shutil.copyfile(path, into / f"{version}.{unquote(path.stem)}.json")
    return into


def test_first_contact_with_a_relative_cache(
    tuf_registry: TufRegistry,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--cache rel``: messages an operator can act on, one line each; the trusted
    metadata survives refused pulls (offline run) and a replayed old state is refused."""
    world = World(tuf_registry.url, tuf_registry.admin_token, tmp_path, repository="acme/first")
    (tmp_path / "trust.yaml").write_text(world.policy_text())
    shutil.copyfile(tuf_registry.root_path, tmp_path / "root.json")
    monkeypatch.chdir(tmp_path)
    options = ["--token", tuf_registry.admin_token, "--policy", "trust.yaml", "--cache", "rel"]
    common = ["--registry", tuf_registry.url, "--trust-root", "root.json", *options]
    reference = "acme/first@production"

    def release(version: str, weight: float) -> None:
        world.push(version, add_model(np.full(4, weight)))
        with RegistryClient(tuf_registry.url, tuf_registry.admin_token) as client:
            path = "/api/v1/models/acme/first/aliases/production"
            client.api("PUT", path, json={"version": version})

    release("2.0.0", 2.0)
    assert _invoke("agent", "pull", reference, *common)[0] == 0
    np.save("x.npy", np.array([1, 2, 3, 4], dtype=np.float32))
    code, out, err = _invoke("agent", "run", reference, *common, "--input", "x.npy")
    assert code == 0, err
    assert out.splitlines() == [
        f"{reference} 2.0.0: 1 output",
        "  y: shape [4] float32 [3.0, 4.0, 5.0, 6.0]",
    ]
    code, out, err = _invoke("agent", "run", reference, *common, "--input", "x.npy", "--json")
    assert json.loads(out)["outputs"] == [
        {"name": "y", "shape": [4], "dtype": "float32", "size": 4, "preview": [3.0, 4.0, 5.0, 6.0]}
    ]

    # a mistyped alias, in a real process (where a log line would reach stderr too)
    typo = subprocess.run(
        [CUSTODY, "agent", "pull", "acme/first@prodution", *common],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert typo.returncode == 18
    assert typo.stderr.splitlines() == [
        "FAILED [not-found]: no such alias 'prodution' in acme/first: the registry's signed "
        "TUF targets name no acme/first/@alias/prodution; this cache follows " + reference
    ]
    code, out, err = _invoke("agent", "run", reference, *common, "--offline", "--input", "x.npy")
    assert code == 0 and "2.0.0" in out, err

    # no registry at that address; a policy YAML given as the trust root
    code, out, err = _invoke(
        "agent", "pull", reference, *options, "--trust-root", "root.json",
        "--registry", "http://127.0.0.1:9", "--cache", "elsewhere",
    )  # fmt: skip
    assert code == 18 and err.splitlines() == [
        "FAILED [network]: could not reach the registry at http://127.0.0.1:9 (GET "
        "/tuf/2.root.json: ConnectError: [Errno 111] Connection refused); use --offline "
        "to run the last verified version from the cache"
    ]
    code, out, err = _invoke("agent", "pull", reference, *options, "--trust-root", "trust.yaml")
    assert code == 3 and len(err.splitlines()) == 1
    assert err.startswith(
        "FAILED [trust-root]: trust.yaml is not a TUF root metadata file: it is not JSON "
        "(it looks like a trust policy); expected the registry's TUF root.json"
    )

    # the metadata that vouched for 2.0.0, replayed after 4.0.0 (through --mirror)
    old = _mirror_of(tmp_path / "rel" / "tuf", tmp_path / "old-metadata")
    release("4.0.0", 4.0)
    assert _invoke("agent", "pull", reference, *common)[0] == 0
    code, out, err = _invoke("agent", "pull", reference, *common, "--mirror", str(old), "--json")
    assert code == 18 and json.loads(out)["reason"] == "rollback", out
    code, out, err = _invoke("agent", "run", reference, *common, "--input", "x.npy", "--json")
    assert code == 0 and json.loads(out)["version"] == "4.0.0"
