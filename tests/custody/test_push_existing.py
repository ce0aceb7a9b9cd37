"""Pushing a version that exists: the same files are the same version; other files are refused."""

from __future__ import annotations

import json
from pathlib import Path

from tests.custody.conftest import LiveRegistry, Run, small_model


def _bom(run: Run, model: Path, out: Path) -> Path:
    result = run(None, "sbom", str(model), "--license", "Apache-2.0", "--output", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_pushing_the_same_files_again_attaches_an_sbom_to_the_existing_version(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    token = live_registry.token()
    model = small_model(tmp_path / "m")
    first = run(token, "push", str(model), "acme/again:1.0.0", "--json")
    assert first.exit_code == 0, first.output
    pushed = json.loads(first.stdout)
    assert pushed["existing"] is False

    bom = _bom(run, model, tmp_path / "bom.json")
    second = run(token, "push", str(model), "acme/again:1.0.0", "--sbom", str(bom), "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["existing"] is True
    assert again["digest"] == pushed["digest"]
    assert again["uploaded"] == 0
    assert again["sbom"].startswith("sha256:")

    tree = run(token, "tree", "acme/again:1.0.0", "--json")
    assert tree.exit_code == 0, tree.output
    assert json.loads(tree.stdout)["sbom"]["digest"] == again["sbom"]


def test_other_files_under_an_existing_version_are_refused_before_any_upload(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    token = live_registry.token()
    assert run(token, "push", str(small_model(tmp_path / "a")), "acme/other:1.0.0").exit_code == 0
    changed = small_model(tmp_path / "b")  # fresh random weights: other files
    refused = run(token, "push", str(changed), "acme/other:1.0.0")
    assert refused.exit_code != 0
    assert "already exists with other files; versions are immutable" in refused.stderr
