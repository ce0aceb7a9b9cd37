"""``custody verify``: check a model against its OMS signature(s), offline."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
from cryptography import x509

from signing.errors import IgnorePathError, KeyLoadError
from signing.exit_codes import ExitCode, fail, fail_on
from signing.hashing import HashOptions
from signing.keys import load_public_key
from signing.sign import resolve_ignore_path
from verifier._sigstore import load_trusted_root
from verifier.errors import MaterialUnreadable, VerificationError
from verifier.model import VerifiedModel, verify_model, verify_model_with_policy
from verifier.policy_documents.rule_matching import subject_from_options
from verifier.trust import (
    TrustedCertificateAuthority,
    TrustedKey,
    TrustedSigner,
    TrustedSigstoreIdentity,
)
from verifier.trust_policy_file import load_trust_policy

__all__ = ["COMMANDS", "verify"]

_EPILOG = """\b
Exit status:
  0  every check holds: signature, signer identity, each file's digest, file set
  2  usage error, or an --ignore that names nothing inside the model
  3  input: a signature, key, certificate, trust config or policy file
     cannot be read or parsed (the policy file error names the line)
  4  bundle: the signature file is not a well-formed OMS bundle
  5  signature: the signature does not verify with the trusted key
  6  identity: certificate chain or Sigstore identity not trusted
  7  integrity: a file's digest or the file set differs from the signed one
  8  paths: a signed name or link would escape the model directory
  9  policy: the trust policy is not satisfied (threshold, no rule for the repository)
On failure one line is printed: FAILED [check]: reason and files.
"""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MaterialUnreadable(f"cannot read {what} {str(path)!r}: {exc.strerror}") from exc


def _certificate_authority(paths: tuple[Path, ...]) -> TrustedCertificateAuthority:
    certs: list[x509.Certificate] = []
    for path in paths:
        try:
            certs.extend(x509.load_pem_x509_certificates(_read(path, "certificate")))
        except ValueError as exc:
            raise MaterialUnreadable(f"{str(path)!r} holds no PEM certificate: {exc}") from exc
    roots = [c for c in certs if c.subject == c.issuer]
    if not roots:
        raise MaterialUnreadable(
            "--certificate-chain needs at least one self-signed root certificate"
        )
    return TrustedCertificateAuthority(roots, intermediates=[c for c in certs if c not in roots])


def _describe(result: VerifiedModel) -> str:
    manifest = result.manifest
    what = (
        f"{len(manifest.file_names())} file{'' if len(manifest.file_names()) == 1 else 's'}, "
        f"{manifest.serialization.method}/"
        f"{manifest.serialization.hash_algorithm}"
        if manifest is not None
        else "no verified manifest"
    )
    signers = ", ".join(str(s) for s in result.signers) or "nobody"
    return f"{what}; signed by {signers}"


@click.command("verify", epilog=_EPILOG)
@click.argument("model_path", type=click.Path(path_type=Path))
@click.option(
    "--signature",
    "signatures",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="OMS bundle to verify (repeatable with --policy). Default: model.sig.",
)
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Trust this public key (PEM; ECDSA, Ed25519, or raw ML-DSA-65).",
)
@click.option(
    "--certificate-chain",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Trust certificates chaining to these PEM roots (self-signed) via these "
    "intermediates (repeatable).",
)
@click.option("--identity", help="Sigstore: the exact signer identity (e-mail or workflow URI).")
@click.option("--issuer", help="Sigstore: the exact OIDC issuer URL.")
@click.option(
    "--trust-config",
    help="Sigstore trusted root: a trusted_root.json or ClientTrustConfig file, or "
    "'production' / 'staging' (default: the production root shipped with sigstore).",
)
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Trust policy file (YAML); use with --repository (or --namespace).",
)
@click.option(
    "--repository",
    help="NAMESPACE/MODEL whose trust policy rule applies (rule match: a glob over it).",
)
@click.option(
    "--namespace",
    help="Any model of this namespace: only rules covering NAMESPACE/* apply.",
)
@click.option(
    "--ignore",
    multiple=True,
    help="Path to leave out (repeatable): as the shell reads it (like model_signing "
    "--ignore-paths), or relative to the model directory; it must name something inside "
    "the model.",
)
@click.option(
    "--ignore-unsigned-files",
    is_flag=True,
    help="Hash only the files the signature names; extra files are not an error.",
)
@click.option("--workers", type=click.IntRange(min=1), help="Hashing threads (default: CPUs).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on success.")
def verify(
    model_path: Path,
    signatures: tuple[Path, ...],
    public_key: Path | None,
    certificate_chain: tuple[Path, ...],
    identity: str | None,
    issuer: str | None,
    trust_config: str | None,
    policy: Path | None,
    repository: str | None,
    namespace: str | None,
    ignore: tuple[str, ...],
    ignore_unsigned_files: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    """Verify the model at MODEL_PATH against its OMS signature, offline.

    Trust comes from exactly one of: --public-key; --certificate-chain;
    --identity with --issuer (Sigstore); or --policy with --repository (or
    --namespace).
    """
    logging.basicConfig(level=logging.WARNING, format="custody: warning: %(message)s")
    modes = {
        "--public-key": public_key is not None,
        "--certificate-chain": bool(certificate_chain),
        "--identity/--issuer": identity is not None or issuer is not None,
        "--policy": policy is not None or repository is not None or namespace is not None,
    }
    chosen = [name for name, on in modes.items() if on]
    if len(chosen) != 1:
        raise click.UsageError(
            "choose exactly one trust mode: --public-key, --certificate-chain, "
            f"--identity/--issuer or --policy/--repository (got: {', '.join(chosen) or 'none'})"
        )
    if (identity is None) != (issuer is None):
        raise click.UsageError("Sigstore mode needs both --identity and --issuer")
    subject = None
    if policy is not None or repository is not None or namespace is not None:
        if policy is None:
            raise click.UsageError("--repository and --namespace go with --policy")
        try:
            subject = subject_from_options(repository, namespace)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if trust_config is not None and identity is None:
        raise click.UsageError("--trust-config is for Sigstore mode (--identity/--issuer)")
    sigs = signatures or (Path("model.sig"),)
    if len(sigs) > 1 and policy is None:
        raise click.UsageError("several --signature files need --policy (a threshold)")
    options = HashOptions(workers=workers)
    if model_path.exists():  # a missing model is reported as such below, not as a bad --ignore
        try:
            ignore = tuple(resolve_ignore_path(model_path, item) for item in ignore)
        except IgnorePathError as exc:
            fail("ignore", exc.diagnostics(), ExitCode.USAGE)
    try:
        if policy is not None and subject is not None:
            rule_policy = load_trust_policy(policy).policy_for(subject)
            result = verify_model_with_policy(
                model_path,
                list(sigs),
                rule_policy,
                ignore=ignore,
                ignore_unsigned_files=ignore_unsigned_files,
                options=options,
            )
        else:
            trusted: TrustedSigner
            if public_key is not None:
                try:
                    trusted = TrustedKey(load_public_key(_read(public_key, "public key")))
                except KeyLoadError as exc:
                    raise MaterialUnreadable(f"{public_key}: {exc}") from exc
            elif certificate_chain:
                trusted = _certificate_authority(certificate_chain)
            else:
                if identity is None or issuer is None:
                    raise click.UsageError("Sigstore mode needs both --identity and --issuer")
                trusted = TrustedSigstoreIdentity(
                    issuer=issuer,
                    identity=identity,
                    trusted_root=load_trusted_root(trust_config),
                )
            result = verify_model(
                model_path,
                sigs[0],
                trusted,
                ignore=ignore,
                ignore_unsigned_files=ignore_unsigned_files,
                options=options,
            )
    except VerificationError as exc:
        fail_on(exc)
    for finding in result.findings:
        click.echo(f"WARNING {finding}", err=True)
    if as_json:
        manifest = result.manifest
        click.echo(
            json.dumps(
                {
                    "verified": manifest is not None,
                    "model": str(model_path),
                    "files": list(manifest.file_names()) if manifest else [],
                    "signers": [
                        {
                            "kind": s.kind,
                            "key_id": s.key_id,
                            "subject": s.subject,
                            "issuer": s.issuer,
                            "trusted_as": s.trusted_as,
                        }
                        for s in result.signers
                    ],
                    "findings": list(result.findings),
                },
                indent=2,
            )
        )
        return
    status = "verified" if result.manifest is not None else "NOT verified (audit only)"
    click.echo(f"{model_path}: {status}: {_describe(result)}")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"verify": verify}
