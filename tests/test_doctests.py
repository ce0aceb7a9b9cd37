"""Every runnable example in every package's docstrings still runs.

Modules are found by walking the packages, so a module that gains an example is tested
without being listed here.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

PACKAGES = ("custody", "registry", "signing", "verifier")


def _modules(package_name: str) -> list[str]:
    package = importlib.import_module(package_name)
    names = [package_name]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        if not info.name.endswith(".__main__"):  # importing it would run the program
            names.append(info.name)
    return names


def _has_examples(module: ModuleType) -> bool:
    finder = doctest.DocTestFinder(exclude_empty=True)
    return any(test.examples for test in finder.find(module))


MODULES_WITH_EXAMPLES = [
    name
    for package in PACKAGES
    for name in _modules(package)
    if _has_examples(importlib.import_module(name))
]


def test_the_walk_finds_the_examples() -> None:
    # A broken walk would make the parametrized test below vacuous.
    assert {"signing", "verifier", "signing.sbom.generate"} <= set(MODULES_WITH_EXAMPLES)


@pytest.mark.parametrize("name", MODULES_WITH_EXAMPLES)
def test_module_examples_run(name: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(name), verbose=False)
    assert tried > 0
    assert failures == 0
