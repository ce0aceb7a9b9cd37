"""One table of exit statuses: unique, documented, and every error class on one row."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import signing
import verifier
from signing.errors import SigningError
from signing.exit_codes import ROWS, ExitCode, Family, fail, fail_on, markdown
from verifier.errors import FetchError, VerificationError
from verifier.provenance.errors import ProvenanceError

DOC = Path(__file__).resolve().parents[1] / "docs" / "exit-codes.md"
#: Roots never raised themselves: they stand for "some failure of this family".
ABSTRACT_ROOTS = {VerificationError, ProvenanceError}


def _import_all(package: object) -> None:
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):  # type: ignore[attr-defined]
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra (c2pa, onnxruntime) that is not installed
            continue


def _subclasses(root: type) -> list[type]:
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.fixture(scope="module")
def error_classes() -> list[type]:
    _import_all(signing)
    _import_all(verifier)
    return _subclasses(VerificationError) + _subclasses(FetchError)


def test_statuses_are_unique_and_each_has_one_row() -> None:
    assert len({code.value for code in ExitCode}) == len(ExitCode)
    assert list(ROWS) == sorted(ExitCode)
    assert len({row.name for row in ROWS.values()}) == len(ROWS)
    assert all(row.code is code for code, row in ROWS.items())


def test_every_error_class_maps_to_exactly_one_row_of_its_family(
    error_classes: list[type],
) -> None:
    assert len(error_classes) > 40  # the walk found the packages' errors
    for cls in error_classes:
        code = cls.exit_code
        assert isinstance(code, ExitCode) and code in ROWS, cls
        assert isinstance(cls.check, str) and cls.check, cls
        family = ROWS[code].family
        if issubclass(cls, FetchError):
            assert family is Family.FETCH, cls
        elif cls in ABSTRACT_ROOTS:
            assert code is ExitCode.FAILURE, cls
        else:
            assert family is Family.VERIFICATION, cls


def test_each_error_belongs_to_one_family_through_one_base(error_classes: list[type]) -> None:
    for cls in error_classes + _subclasses(SigningError):
        assert not (issubclass(cls, VerificationError) and issubclass(cls, FetchError)), cls
        error_bases = [base for base in cls.__bases__ if issubclass(base, BaseException)]
        assert len(error_bases) == 1, f"{cls} has more than one error base: {error_bases}"


def test_the_documented_table_is_the_table() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/exit-codes.md is stale: python -m signing.exit_codes > docs/exit-codes.md"
    )


def test_fail_prints_one_line_and_exits_with_the_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        fail("input", "cannot\n  read x", ExitCode.INPUT, hint="check the path")
    assert exited.value.code == 3
    assert capsys.readouterr().err == "FAILED [input]: cannot read x; check the path\n"

    with pytest.raises(SystemExit) as exited:
        fail_on(FetchError("registry unreachable"), as_json=True)
    assert exited.value.code == ExitCode.FETCH
    out, err = capsys.readouterr()
    assert err == "FAILED [fetch]: registry unreachable\n"
    assert out.strip() == '{"ok": false, "reason": "fetch", "message": "registry unreachable"}'


def test_registry_errors_have_one_error_base() -> None:
    """The HTTP side too: an error's status and code come from one line of ancestry."""
    import registry
    from registry.errors import RegistryError

    _import_all(registry)
    for cls in _subclasses(RegistryError):
        error_bases = [base for base in cls.__bases__ if issubclass(base, BaseException)]
        assert len(error_bases) == 1, f"{cls} has more than one error base: {error_bases}"
