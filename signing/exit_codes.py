"""Every exit status of the ``custody`` commands, and the one way a command fails.

:class:`ExitCode` is the table: each status means one thing, whichever command
exits with it, and belongs to one family, as in python-tuf:

* ``verification``: the data is bad (or unusable): a signature, digest, proof or
  policy does not hold, or an input file cannot be read as what it claims;
* ``fetch``: it could not be fetched: the registry, hub or log could not be
  reached, refused, or answered something that is not an answer.

Errors name their status with ``exit_code`` (one of these members) and the check
that failed with ``check``, the label of the one line :func:`fail` prints:
``FAILED [check]: message``. ``docs/exit-codes.md`` lists the table (a test keeps
it in step). This module lives in ``signing`` because ``signing``'s commands use
it too and ``signing`` must not import ``verifier``.
"""

from __future__ import annotations

import enum
import json
import sys
from dataclasses import dataclass
from typing import NoReturn

import click

__all__ = ["ROWS", "ExitCode", "Family", "Row", "fail", "fail_on", "markdown"]


class Family(enum.StrEnum):
    """Which kind of failure a status reports."""

    NONE = "-"
    VERIFICATION = "verification"
    FETCH = "fetch"


@enum.unique
class ExitCode(enum.IntEnum):
    """The exit statuses; the name (lower case, ``_`` as ``-``) is the row's name."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    INPUT = 3
    BUNDLE = 4
    SIGNATURE = 5
    IDENTITY = 6
    INTEGRITY = 7
    PATHS = 8
    POLICY = 9
    FETCH = 10
    REFUSED = 11
    HUB = 12
    CHECKPOINT = 13
    CHECKPOINT_SIGNATURE = 14
    INCLUSION = 15
    CONSISTENCY = 16
    RECEIPT = 17
    AGENT = 18
    LOAD_INTEGRITY = 19
    EXTERNAL_DATA = 20
    SESSION_CONFIG = 21
    MODEL_FORMAT = 22
    STORE = 23


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: the status, its family and what it means."""

    code: ExitCode
    family: Family
    meaning: str

    @property
    def name(self) -> str:
        return self.code.name.lower().replace("_", "-")


def _rows(*rows: tuple[ExitCode, Family, str]) -> dict[ExitCode, Row]:
    return {code: Row(code, family, meaning) for code, family, meaning in rows}


_V, _F, _N = Family.VERIFICATION, Family.FETCH, Family.NONE

#: The table, in status order (``docs/exit-codes.md`` is rendered from it).
ROWS: dict[ExitCode, Row] = _rows(
    (ExitCode.OK, _N, "every check holds; the command did what was asked"),
    (ExitCode.FAILURE, _N, "any other failure (signing failed, a registry command refused)"),
    (ExitCode.USAGE, _N, "usage error, including an --ignore that names nothing in the model"),
    (
        ExitCode.INPUT,
        _V,
        "a key, certificate, signature, policy, trust root, log key, state or metadata file "
        "cannot be read or parsed (not a trust verdict)",
    ),
    (
        ExitCode.BUNDLE,
        _V,
        "the signed document is not well formed or missing: OMS bundle, DSSE envelope, "
        "C2PA manifest or its Custody assertion",
    ),
    (ExitCode.SIGNATURE, _V, "the signature does not verify with the key it names"),
    (ExitCode.IDENTITY, _V, "the signer (certificate chain, identity, key) is not trusted"),
    (
        ExitCode.INTEGRITY,
        _V,
        "bytes differ from what was signed or asked for: file digests, the file set, "
        "a blob or manifest digest, a latent chain, C2PA validation",
    ),
    (ExitCode.PATHS, _V, "a name, link or ignore path would escape the model, or is unsafe"),
    (ExitCode.POLICY, _V, "the trust policy is not satisfied (threshold, no rule, chain required)"),
    (
        ExitCode.FETCH,
        _F,
        "the registry, hub or log could not be reached, answered an error, or answered "
        "something that is not an answer",
    ),
    (ExitCode.REFUSED, _F, "the hub refused the request (not registered, terms, bad input)"),
    (ExitCode.HUB, _V, "the hub answered, but its attribution does not verify"),
    (ExitCode.CHECKPOINT, _V, "a log checkpoint is malformed, or names another log"),
    (ExitCode.CHECKPOINT_SIGNATURE, _V, "no signature by the pinned log key verifies"),
    (ExitCode.INCLUSION, _V, "an entry's inclusion proof or leaf hash does not check out"),
    (
        ExitCode.CONSISTENCY,
        _V,
        "the log is not an extension of what was verified before (fork, shrink, bad proof)",
    ),
    (ExitCode.RECEIPT, _V, "a log receipt disagrees with its checkpoint or its entry"),
    (ExitCode.AGENT, _V, "the edge agent refused a pull or a load; the reason code says why"),
    (
        ExitCode.LOAD_INTEGRITY,
        _V,
        "bytes loaded differ from the verified digest, or a file to load has no digest",
    ),
    (ExitCode.EXTERNAL_DATA, _V, "an ONNX external-data location is refused by the loader"),
    (ExitCode.SESSION_CONFIG, _V, "an execution provider or session setting is refused"),
    (
        ExitCode.MODEL_FORMAT,
        _V,
        "a model file is malformed (safetensors header, ONNX model, duplicate names, offsets)",
    ),
    (
        ExitCode.STORE,
        _V,
        "custody fsck found the database and the blob store in disagreement: orphan, missing, "
        "resized or corrupt objects, stray names, references to blobs with no row, or a "
        "namespace usage counter that is not what its rows add up to",
    ),
)


def fail(
    check: str,
    message: str,
    code: ExitCode,
    *,
    detail: str = "",
    hint: str = "",
    as_json: bool = False,
) -> NoReturn:
    """Print ``FAILED [check] detail: message; hint`` on one line and exit with ``code``.

    ``as_json`` also prints the same facts as one JSON object on stdout.
    """
    text = " ".join(message.split()) + (f"; {hint}" if hint else "")
    if as_json:
        click.echo(json.dumps({"ok": False, "reason": check, "message": text}))
    label = f"{check}] {detail}" if detail else f"{check}]"
    click.echo(f"FAILED [{label}: {text}", err=True)
    sys.exit(code)


def fail_on(
    error: Exception, *, detail: str = "", hint: str = "", as_json: bool = False
) -> NoReturn:
    """:func:`fail` with what ``error`` says about itself (``check``, ``exit_code``)."""
    check = str(getattr(error, "check", "error"))
    code = ExitCode(getattr(error, "exit_code", ExitCode.FAILURE))
    describe = getattr(error, "diagnostics", None)
    message = describe() if callable(describe) else str(error)
    fail(check, message, code, detail=detail, hint=hint, as_json=as_json)


def markdown() -> str:
    """The table as ``docs/exit-codes.md`` shows it (``python -m signing.exit_codes``)."""
    lines = [
        "# Exit statuses",
        "",
        "Every `custody` command exits with one of these statuses; each means one thing,",
        "whichever command exits with it. A failure prints one line on stderr,",
        "`FAILED [check]: message`, where `check` names what failed (for example",
        "`policy-file` under `input`, or an edge agent's reason code under `agent`).",
        "Families: `verification` means the data is bad, `fetch` that it could not be",
        "fetched. The registry commands (`push`, `pull` without `--verify`, `ls`, `search`,",
        "`alias`, `tree`, `audit`, `policy`, `publish`) print `Error: message` and exit 1.",
        "",
        "Generated from `signing/exit_codes.py` by `python -m signing.exit_codes`;",
        "a test keeps the two in step.",
        "",
        "| status | name | family | meaning |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {r.code.value} | `{r.name}` | {r.family} | {r.meaning} |" for r in ROWS.values()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
