"""``custody agent pull | run | status``: the edge agent on the command line.

Every failure is one line on stderr, ``FAILED [reason]: message``, and a non-zero
exit status: 18 for an agent refusal (the reason code says why), the loader's own
statuses for a refused load (19-22, see ``docs/exit-codes.md``), 3 for an
unreadable policy file; with ``--json`` the same facts are also printed as one
JSON object on stdout.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
import numpy as np

from signing.exit_codes import fail
from verifier.agent.agent import Agent, AgentConfig, ExpiryPolicy
from verifier.agent.errors import AgentError, TrustRootInvalid
from verifier.agent.freshness import check_trust_root
from verifier.errors import VerificationError
from verifier.loading import DEFAULT_PROVIDERS
from verifier.trust_policy_file import TrustPolicy, load_trust_policy

__all__ = ["COMMANDS", "agent"]

_DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhd]?)\Z")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _grace(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration like 0, 90m, 72h or 3d")
    return timedelta(seconds=int(match["amount"]) * _UNITS[match["unit"]])


def _reference(text: str) -> tuple[str, str]:
    repository, sep, alias = text.rpartition("@")
    if not sep or not repository or not alias:
        raise click.BadParameter(f"{text!r} is not REPOSITORY@ALIAS", param_hint="REFERENCE")
    return repository, alias


def _fail(exc: VerificationError, as_json: bool) -> NoReturn:
    unreachable = exc.check == "network" and str(exc).startswith("could not reach the registry")
    hint = "use --offline to run the last verified version from the cache" if unreachable else ""
    fail(exc.check, str(exc), exc.exit_code, hint=hint, as_json=as_json)


def _cache_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--cache",
        "cache_dir",
        envvar="CUSTODY_AGENT_CACHE",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="The agent's cache and trusted state directory ($CUSTODY_AGENT_CACHE).",
    )(f)


def _trust_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--registry", envvar="CUSTODY_REGISTRY", help="Registry URL ($CUSTODY_REGISTRY)."
        ),
        click.option("--token", envvar="CUSTODY_TOKEN", help="Custody token ($CUSTODY_TOKEN)."),
        click.option(
            "--trust-root",
            envvar="CUSTODY_TRUST_ROOT",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="The registry's TUF root.json, obtained out of band ($CUSTODY_TRUST_ROOT).",
        ),
        click.option(
            "--policy",
            envvar="CUSTODY_TRUST_POLICY",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Trust policy YAML: who may sign each namespace ($CUSTODY_TRUST_POLICY).",
        ),
        click.option("--offline", is_flag=True, help="Use only the cache and trusted metadata."),
        click.option(
            "--mirror",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            help="A local copy of the registry's /tuf/ directory to refresh metadata from.",
        ),
        click.option(
            "--grace",
            envvar="CUSTODY_AGENT_GRACE",
            default="0",
            show_default=True,
            help="How long to keep serving after the trusted metadata expired "
            "(0 refuses; e.g. 72h, 3d) ($CUSTODY_AGENT_GRACE).",
        ),
        click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout."),
    ]
    for option in reversed(options):
        f = option(f)
    return _cache_option(f)


def _agent(
    cache_dir: Path,
    registry: str | None,
    token: str | None,
    trust_root: Path,
    policy: Path,
    offline: bool,
    mirror: Path | None,
    grace: str,
) -> Agent:
    try:
        root = trust_root.read_bytes()
    except OSError as exc:
        raise TrustRootInvalid(f"cannot read trust root {trust_root}: {exc}") from exc
    check_trust_root(root, str(trust_root))
    return Agent(
        AgentConfig(
            cache_dir=cache_dir,
            trust_root=root,
            trust_policy=load_trust_policy(policy),
            registry=registry,
            token=token,
            offline=offline,
            mirror=mirror,
            expiry=ExpiryPolicy(_grace(grace)),
        )
    )


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


@contextmanager
def _warnings_after_success() -> Iterator[None]:
    """The agent's warnings (grace period, a cached file fetched again) on stderr, one
    ``warning: ...`` line each, after a command that succeeded; a refused command prints
    its ``FAILED`` line only (the warnings logged on the way to it say the same)."""
    collected = _Collected()
    logger = logging.getLogger("verifier")
    logger.addHandler(collected)
    try:
        yield
    finally:
        logger.removeHandler(collected)
    for message in collected.messages:
        click.echo(f"warning: {message}", err=True)


@contextmanager
def _progress_bar(enabled: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar: Any = None
    try:

        def advance(count: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bar.__enter__()
            bar.update(count)

        yield advance
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


_EPILOG = """\b
On failure one line on stderr: FAILED [reason]: message. Reasons:
  network    the registry could not be reached (--offline uses the cache)
  not-found  no such alias (the signed TUF targets do not name it)
  rollback expired threshold digest unsigned identity policy format
  offline storage (see verifier.agent.errors);
  trust-root / policy-file  --trust-root / --policy is not what is expected;
  loads refused by the verified loader name their check (load-integrity, ...).
Exit status: 0 ok, 2 usage, 3 unreadable trust root or policy, 18 refused,
19-22 load refused."""


@click.group(epilog=_EPILOG)
def agent() -> None:
    """The edge agent: pull verified models, keep the last good one, run it."""


@agent.command()
@click.argument("reference")
@_trust_options
def pull(reference: str, cache_dir: Path, as_json: bool, **options: Any) -> None:
    """Refresh TUF, fetch and verify REPOSITORY@ALIAS, make it current."""
    repository, alias = _reference(reference)
    try:
        edge = _agent(cache_dir, **options)
        if not (options["registry"] or options["offline"] or options["mirror"]):
            raise AgentError(
                "offline",
                "no registry to pull from: give --registry URL (or $CUSTODY_REGISTRY), "
                "or --offline to re-check the cached version",
            )
        progress = _progress_bar(not as_json, f"pull {reference}")
        with edge, _warnings_after_success(), progress as bar:
            result = edge.pull(repository, alias, bar)
    except VerificationError as exc:
        _fail(exc, as_json)
    except (OSError, ValueError) as exc:
        _fail(AgentError("storage", f"{type(exc).__name__}: {exc}"), as_json)
    if as_json:
        click.echo(json.dumps({"ok": True, **result.to_json()}))
        return
    what = "updated to" if result.changed else "unchanged at"
    click.echo(
        f"{reference}: {what} {result.version} ({result.manifest}); "
        f"downloaded {result.downloaded_bytes} bytes, reused {result.reused_bytes}"
    )


def _feeds(session: Any, inputs: tuple[str, ...]) -> dict[str, Any]:
    names = [i.name for i in session.get_inputs()]
    feeds: dict[str, Any] = {}
    for item in inputs:
        name, sep, path = item.rpartition("=")
        if not sep:
            if len(names) != 1:
                raise click.UsageError(f"the model has inputs {names}: use --input NAME=x.npy")
            name, path = names[0], item
        try:
            feeds[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise click.UsageError(f"cannot read input {path!r}: {exc}") from exc
    return feeds


@agent.command()
@click.argument("reference")
@_trust_options
@click.option("--input", "inputs", multiple=True, help="x.npy or NAME=x.npy (repeatable).")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Save output 0 (.npy)."
)
@click.option("--model", "model", help="Which ONNX file of the version (if several).")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    default=DEFAULT_PROVIDERS,
    show_default=True,
    help="Execution provider (allow-list: CPUExecutionProvider).",
)
def run(
    reference: str,
    cache_dir: Path,
    as_json: bool,
    inputs: tuple[str, ...],
    output: Path | None,
    model: str | None,
    providers: tuple[str, ...],
    **options: Any,
) -> None:
    """Load the current verified version of REPOSITORY@ALIAS and run one inference.

    Prints every output's name, shape, dtype and first values (--json: the same as
    JSON); --output saves output 0 in full.
    """
    repository, alias = _reference(reference)
    try:
        edge = _agent(cache_dir, **options)
        if not options.get("registry"):
            # the registry the cache came from, to re-fetch a cached file altered on disk
            registry = edge.state().registry or None
            edge = _agent(cache_dir, **{**options, "registry": registry})
        with edge, _warnings_after_success():
            record = edge.current(repository, alias)
            session = edge.load_session(repository, alias, model=model, providers=providers)
            outputs = session.run(None, _feeds(session, inputs))
            names = [o.name for o in session.get_outputs()]
    except VerificationError as exc:
        _fail(exc, as_json)
    except (OSError, ValueError) as exc:
        _fail(AgentError("storage", f"{type(exc).__name__}: {exc}"), as_json)
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime's run errors are untyped
        _fail(AgentError("format", f"inference failed: {type(exc).__name__}: {exc}"), as_json)
    if output is not None:
        np.save(output, np.asarray(outputs[0]), allow_pickle=False)
    described = [_describe(name, value) for name, value in zip(names, outputs, strict=True)]
    if as_json:
        summary = {
            "ok": True,
            "repository": repository,
            "alias": alias,
            "version": record.version,
            "manifest": record.manifest,
            "outputs": described,
            "saved": str(output) if output is not None else None,
        }
        click.echo(json.dumps(summary))
        return
    count = f"{len(described)} output" + ("s" if len(described) != 1 else "")
    click.echo(f"{reference} {record.version}: {count}")
    for item in described:
        values = ", ".join(str(v) for v in item["preview"])
        more = ", ..." if item["size"] > len(item["preview"]) else ""
        click.echo(f"  {item['name']}: shape {item['shape']} {item['dtype']} [{values}{more}]")
    if output is not None:
        click.echo(f"  {names[0]} saved to {output}")


_PREVIEW = 8  # values shown of each output


def _describe(name: str, value: Any) -> dict[str, Any]:
    """An output's name, shape, dtype, size and first values (flattened; JSON-safe)."""
    array = np.asarray(value)
    flat = array.reshape(-1)[:_PREVIEW]
    preview: list[Any]
    if array.dtype.kind in "biuf":
        preview = [_number(v) for v in flat.tolist()]
    else:  # strings, or onnxruntime's sequences and maps
        preview = [str(v) for v in flat.tolist()]
    return {
        "name": name,
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "size": int(array.size),
        "preview": preview,
    }


def _number(value: Any) -> Any:
    if isinstance(value, float):  # 6 significant digits: float32's 0.1, not 0.10000000149
        return float(f"{value:.6g}") if math.isfinite(value) else str(value)  # JSON: no nan
    return value


@agent.command()
@_cache_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def status(cache_dir: Path, as_json: bool) -> None:
    """Current and previous versions and the last failure of every alias followed."""
    try:
        state = Agent(
            AgentConfig(cache_dir=cache_dir, trust_root=b"", trust_policy=_NO_POLICY)
        ).status()
    except VerificationError as exc:
        _fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(state))
        return
    if not state["aliases"]:
        click.echo(f"{cache_dir}: no alias pulled yet")
    for key, track in state["aliases"].items():
        current, previous, failure = track["current"], track["previous"], track["last_failure"]
        click.echo(f"{key}")
        click.echo(f"  current:  {_version_line(current)}")
        click.echo(f"  previous: {_version_line(previous)}")
        if failure:
            click.echo(
                f"  last failure: [{failure['reason']}] {failure['message']} at {failure['at']}"
            )
        click.echo(f"  last success: {track['last_success'] or '-'}")


def _version_line(record: dict[str, Any] | None) -> str:
    if record is None:
        return "-"
    return (
        f"{record['version']} {record['manifest']} verified {record['verified_at']}, "
        f"metadata valid until {record['expires']}"
    )


_NO_POLICY = TrustPolicy(())  # status reads state only: it trusts nothing


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"agent": agent}
