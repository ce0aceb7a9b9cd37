"""The runnable examples in the package docstrings still run."""

from __future__ import annotations

import doctest

import pytest

import signing
import verifier


@pytest.mark.parametrize("module", [signing, verifier], ids=lambda m: m.__name__)
def test_package_examples(module: object) -> None:
    failures, tried = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert tried > 0
    assert failures == 0
