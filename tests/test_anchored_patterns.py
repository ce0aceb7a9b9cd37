"""No validating regular expression ends in ``$``, which Python also matches before a final
newline (``acme\\n`` was once a namespace of its own): anchored patterns end in ``\\Z``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("custody", "registry", "signing", "verifier")


def _compiled_patterns() -> list[tuple[str, int, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if node.func.attr not in {"compile", "match", "fullmatch", "search"}:
                    continue
                if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
                    continue
                if node.args and isinstance(node.args[0], ast.Constant):
                    pattern = node.args[0].value
                    if isinstance(pattern, str):
                        found.append((str(path.relative_to(ROOT)), node.lineno, pattern))
    return found


def test_the_scan_sees_the_validators() -> None:
    files = {path for path, _, _ in _compiled_patterns()}
    assert "registry/naming.py" in files and "signing/digests.py" in files


def test_no_anchored_pattern_ends_in_a_dollar() -> None:
    offenders = [
        f"{path}:{line}: {pattern!r}"
        for path, line, pattern in _compiled_patterns()
        if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")
    ]
    assert not offenders, "end anchored patterns with \\Z:\n" + "\n".join(offenders)
