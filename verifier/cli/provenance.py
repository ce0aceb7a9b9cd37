"""``custody latent verify`` and the offline half of ``custody output verify``.

The signing commands of both groups are ``signing``'s; ``output verify`` itself,
offline checks plus ``--hub``, is in :mod:`verifier.cli.hub`, built from
:func:`output_verify_options` and :func:`verify_output_offline`.

Verification prints one line on failure, ``FAILED [check] reason-code: message``,
and exits with the error's status (see ``--help``); nothing is trusted that the
reprint policy (or, for C2PA, the trust anchors) does not name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from signing.cli.provenance import read_chain
from signing.exit_codes import ExitCode, fail, fail_on
from signing.provenance.output import image_digest
from verifier.errors import VerificationError
from verifier.policy_documents.rule_matching import subject_from_options
from verifier.provenance.c2pa import verify_c2pa
from verifier.provenance.errors import C2paAssertionInvalid, ProvenanceError
from verifier.provenance.latent_chain import verify_latent_chain
from verifier.provenance.output import VerifiedOutput, verify_output
from verifier.provenance.reprint_policy import load_reprint_policy

__all__ = ["COMMANDS", "latent_verify", "output_verify_options", "verify_output_offline"]

_Command = TypeVar("_Command", bound=Callable[..., Any])

_MIME_BY_SUFFIX = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_EPILOG = """\b
Exit status:
  0  verified
  2  usage error
  3  input: a file, policy or trust anchor cannot be read or parsed
  4  format: not a DSSE envelope / no or remote C2PA manifest / bad Custody assertion
  5  signature: the signature does not verify with the key it names
  6  identity: signer not trusted by the reprint policy / C2PA trust list
  7  integrity: image digest, parent links, chain consistency, C2PA status
  9  policy: no reprint rule covers the repository, or it requires the latent chain
"""


def _fail(error: VerificationError) -> NoReturn:
    fail_on(error, detail=error.reason if isinstance(error, ProvenanceError) else "")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail("input", f"cannot read {what} {str(path)!r}: {exc.strerror}", ExitCode.INPUT)


_policy = click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Reprint policy file (trusted creators and nodes per namespace).",
)
_repository = click.option(
    "--repository",
    help="NAMESPACE/MODEL of the model that made the output (rule match: a glob over it).",
)
_namespace = click.option(
    "--namespace", help="Any model of this namespace: only rules covering NAMESPACE/* apply."
)


def _lookup(repository: str | None, namespace: str | None) -> str:
    """The reprint-policy lookup of ``--repository`` / ``--namespace`` (usage error if neither)."""
    try:
        return subject_from_options(repository, namespace)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


_json = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.command("verify", epilog=_EPILOG)
@click.argument("chain", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--policy", type=click.Path(path_type=Path, dir_okay=False), required=True)
@_repository
@_namespace
def latent_verify(chain: Path, policy: Path, repository: str | None, namespace: str | None) -> None:
    """Verify a latent chain file: trusted nodes, links back to one root, consistency."""
    lookup = _lookup(repository, namespace)
    envelopes = read_chain(chain)
    try:
        verified = verify_latent_chain(envelopes, load_reprint_policy(policy), lookup)
    except VerificationError as exc:
        _fail(exc)
    click.echo(
        f"OK: {len(verified.records)} records, steps {verified.steps[0]}..{verified.steps[-1]}, "
        f"model {verified.model_reference}, root {verified.root}"
    )


def _summary(result: VerifiedOutput) -> dict[str, object]:
    return {
        "image": result.image_digest,
        "creator": {"name": result.creator.name, "id": result.creator.claimed_id},
        "model": result.model_reference,
        "license": result.license,
        "terms": list(result.terms),
        "ingredients": list(result.ingredients),
        "created": result.created.isoformat(),
        "steps": list(result.chain.steps) if result.chain else [],
        "nodes": sorted({r.node_name for r in result.chain.records}) if result.chain else [],
    }


_OUTPUT_VERIFY_OPTIONS = (
    click.argument("image", type=click.Path(path_type=Path, dir_okay=False)),
    click.option(
        "--manifest",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The output manifest (default: IMAGE.custody.json; not used with --c2pa).",
    ),
    click.option("--latents", type=click.Path(path_type=Path, dir_okay=False)),
    _policy,
    _repository,
    _namespace,
    click.option("--c2pa", "check_c2pa", is_flag=True, help="Validate embedded C2PA credentials."),
    click.option(
        "--trust-anchors",
        type=click.Path(path_type=Path, dir_okay=False),
        help="With --c2pa: PEM file of the C2PA trust anchors.",
    ),
    _json,
)


def output_verify_options(command: _Command) -> _Command:
    """IMAGE and the offline options of ``output verify``, in this order, as one decorator."""
    for option in reversed(_OUTPUT_VERIFY_OPTIONS):
        command = option(command)
    return command


def verify_output_offline(
    image: Path,
    manifest: Path | None,
    latents: Path | None,
    policy: Path | None,
    repository: str | None,
    namespace: str | None,
    check_c2pa: bool,
    trust_anchors: Path | None,
    as_json: bool,
) -> None:
    """Verify IMAGE: its output manifest and latent chain, and/or its C2PA credentials.

    Prints the result, or one line and exits with the failed check's status.
    With --c2pa alone, only the C2PA credentials are checked. With --c2pa and
    --policy/--repository (or --namespace), the output manifest embedded in the Custody assertion
    is verified too (its subject is the image before embedding; C2PA's hard
    binding ties it to these bytes), with its chain from --latents or, where the
    namespace's rule sets c2pa_without_latents, without one (as the hub does).
    """
    if check_c2pa and trust_anchors is None:
        raise click.UsageError("--c2pa needs --trust-anchors")
    lookup = None
    if policy is not None or repository is not None or namespace is not None:
        if policy is None:
            raise click.UsageError("--repository and --namespace go with --policy")
        lookup = _lookup(repository, namespace)
    if policy is None and latents is not None:
        raise click.UsageError("--latents needs --policy and --repository")
    if policy is not None and latents is None and not check_c2pa:
        raise click.UsageError("--policy and --repository need --latents (or --c2pa)")
    data = _read(image, "image")
    report: dict[str, object] = {}
    try:
        envelope: bytes | None = None
        subject = image_digest(data)
        if check_c2pa and trust_anchors is not None:
            mime = _MIME_BY_SUFFIX.get(image.suffix.lower(), "")
            result = verify_c2pa(data, mime, _read(trust_anchors, "trust anchors"))
            report["c2pa"] = {
                "state": result.validation_state,
                "manifest": result.active_manifest,
                "signer": result.signer_common_name,
                "ingredients": [i.manifest_label or i.title for i in result.ingredients],
                "model": result.custody.model_reference if result.custody else None,
            }
            if policy is not None:
                if result.custody is None or result.custody.output_manifest is None:
                    raise C2paAssertionInvalid("the C2PA manifest carries no output manifest")
                envelope = result.custody.output_manifest
                subject = str(result.custody.output_image_digest)
        elif latents is not None:
            envelope = _read(manifest or image.with_name(image.name + ".custody.json"), "manifest")
        if envelope is not None and policy and lookup:
            verified = verify_output(
                envelope.strip(),
                subject,
                read_chain(latents) if latents is not None else None,
                load_reprint_policy(policy),
                lookup,
            )
            report["output"] = _summary(verified)
    except ProvenanceError as exc:
        _fail(exc)
    except VerificationError as exc:
        _fail(exc)
    if not report:
        raise click.UsageError("nothing to verify: give --latents/--policy/--repository or --c2pa")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for kind, item in report.items():
            click.echo(f"OK {kind}: {json.dumps(item)}")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"latent verify": latent_verify}
