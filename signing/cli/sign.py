"""``custody keygen`` and ``custody sign``.

Exit status: 0 success; 2 usage error (including an ``--ignore`` that names
nothing inside the model); 3 a key, passphrase or certificate cannot be used;
8 the model tree holds something that cannot be signed safely (a link out of
the tree, a special file, an unsafe name); 1 any other signing failure.
Failures print one line: ``FAILED [check]: reason``.

Both commands print ``key id: <id>``, the key's one identifier
(:func:`signing.keys.key_id`: SHA-256 of the public key's PEM text, the OMS key
hint), which ``custody verify`` and its ``--json`` report the same way.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from signing.errors import (
    CertificateMismatch,
    IgnorePathError,
    KeyLoadError,
    ModelPathError,
    SigningError,
    UnsafePathError,
)
from signing.exit_codes import ExitCode, fail
from signing.hashing import HashOptions
from signing.keys import KeyType, key_id, load_private_key, write_key_pair
from signing.manifest import HashAlgorithm, Serialization
from signing.sign import resolve_ignore_path, sign_model
from signing.signers import load_signer

__all__ = ["COMMANDS", "keygen", "sign"]


def _passphrase_from(env: str | None, file: Path | None) -> bytes | None:
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise click.UsageError(f"environment variable {env} is not set")
        return value.encode("utf-8")
    if file is not None:
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot read passphrase file {file}: {exc.strerror}") from exc
        return text.rstrip("\r\n").encode("utf-8")
    return None


_passphrase_env = click.option(
    "--passphrase-env",
    metavar="VAR",
    help="Read the key passphrase from this environment variable.",
)
_passphrase_file = click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the key passphrase from the first line of this file.",
)


@click.command(
    "keygen",
    epilog="Exit status: 0 written; 2 usage error; 3 the key files cannot be written.",
)
@click.option(
    "--type",
    "key_type",
    type=click.Choice([t.value for t in KeyType]),
    default=KeyType.ECDSA_P256.value,
    show_default=True,
    help="Key algorithm. ECDSA keys interoperate with model_signing; "
    "Ed25519 signatures verify with custody only (model_signing 1.1.1 accepts only ECDSA).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Private key file to write; the public key goes to OUT.pub.",
)
@_passphrase_env
@_passphrase_file
@click.option("--prompt-passphrase", is_flag=True, help="Ask for a passphrase on the terminal.")
@click.option(
    "--no-passphrase",
    is_flag=True,
    help="Write the private key unencrypted (required to say so when no passphrase is given).",
)
@click.option("--force", is_flag=True, help="Replace existing key files.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keygen(
    key_type: str,
    out: Path,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    prompt_passphrase: bool,
    no_passphrase: bool,
    force: bool,
    as_json: bool = False,
) -> None:
    """Generate a signing key pair (private key encrypted with a passphrase when one is given)."""
    sources = [passphrase_env is not None, passphrase_file is not None, prompt_passphrase]
    if sum(sources) + int(no_passphrase) != 1:
        raise click.UsageError(
            "choose exactly one of --passphrase-env, --passphrase-file, --prompt-passphrase "
            "or --no-passphrase"
        )
    passphrase = _passphrase_from(passphrase_env, passphrase_file)
    if prompt_passphrase:
        passphrase = click.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=True, err=True
        ).encode("utf-8")
    if passphrase is not None and not passphrase:
        raise click.UsageError("the passphrase is empty")
    try:
        paths = write_key_pair(out, key_type, passphrase, overwrite=force)
    except (KeyLoadError, OSError) as exc:
        fail("key", str(exc), ExitCode.INPUT)
    public = load_private_key(paths.private.read_bytes(), passphrase).public_key()
    state = "encrypted" if passphrase else "UNENCRYPTED"
    if as_json:
        click.echo(
            json.dumps(
                {
                    "private_key": str(paths.private),
                    "public_key": str(paths.public),
                    "type": key_type,
                    "encrypted": passphrase is not None,
                    "key_id": key_id(public),
                }
            )
        )
    else:
        click.echo(f"wrote {paths.private} ({key_type}, {state}) and {paths.public}")
        click.echo(f"key id: {key_id(public)}")
    if key_type == KeyType.ED25519:
        click.echo(
            "note: Ed25519 bundles verify with custody; model_signing 1.1.1 rejects them "
            "(it accepts ECDSA P-256/P-384/P-521 only)",
            err=True,
        )


@click.command(
    "sign",
    epilog=(
        "Exit status: 0 signed; 2 usage error (or an --ignore naming nothing in the model); "
        "3 key, passphrase or certificate unusable; "
        "8 unsafe model tree (link out of the tree, special file, unsafe name); 1 other failure."
    ),
)
@click.argument("model_path", type=click.Path(path_type=Path, exists=True))
@click.option("--key", "key_ref", required=True, help="Key reference: a PEM file, or file:PATH.")
@click.option(
    "--certificate-chain",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="PEM certificates: the signing certificate, then intermediates (repeatable).",
)
@click.option(
    "--hash",
    "hash_name",
    type=click.Choice([h.value for h in HashAlgorithm]),
    default=HashAlgorithm.SHA256.value,
    show_default=True,
    help="Hash for every resource. model_signing's CLI verifies sha256 only.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    help="Hash files in shards of this many bytes (both cores work on one large file). "
    "Default: whole files.",
)
@click.option(
    "--ignore",
    multiple=True,
    help="Path to leave out (repeatable): as the shell reads it, or relative to the model "
    "directory; it must name something inside the model.",
)
@click.option(
    "--ignore-git-paths/--no-ignore-git-paths",
    default=True,
    show_default=True,
    help="Leave out .git, .github, .gitattributes and .gitignore.",
)
@click.option(
    "--allow-symlinks",
    is_flag=True,
    help="Hash symbolic links to files inside the model (links out of the tree are refused).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("model.sig"),
    show_default=True,
    help="Where to write the OMS bundle.",
)
@_passphrase_env
@_passphrase_file
@click.option("--workers", type=click.IntRange(min=1), help="Hashing threads (default: CPUs).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sign(
    model_path: Path,
    key_ref: str,
    certificate_chain: tuple[Path, ...],
    hash_name: str,
    shard_size: int | None,
    ignore: tuple[str, ...],
    ignore_git_paths: bool,
    allow_symlinks: bool,
    output: Path,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    workers: int | None,
    as_json: bool = False,
) -> None:
    """Sign the model at MODEL_PATH (a directory or one file) as an OMS bundle."""
    given = _passphrase_from(passphrase_env, passphrase_file)

    def secrets(what: str) -> str:
        if given is not None:
            return given.decode("utf-8")
        if not sys.stdin.isatty():
            raise KeyLoadError(f"the key needs a {what}: use --passphrase-env or --passphrase-file")
        return str(click.prompt(f"Key {what}", hide_input=True, err=True))

    serialization = (
        Serialization.shards(shard_size, hash_name, allow_symlinks=allow_symlinks)
        if shard_size
        else Serialization.files(hash_name, allow_symlinks=allow_symlinks)
    )
    try:
        ignored = [resolve_ignore_path(model_path, item) for item in ignore]
    except IgnorePathError as exc:
        fail("ignore", exc.diagnostics(), ExitCode.USAGE)
    try:
        signer = load_signer(key_ref, certificate_chain=certificate_chain, secrets=secrets)
        result = sign_model(
            model_path,
            signer,
            serialization=serialization,
            ignore=ignored,
            ignore_git_paths=ignore_git_paths,
            output=output,
            options=HashOptions(workers=workers),
        )
    except (KeyLoadError, CertificateMismatch) as exc:
        fail("key", exc.diagnostics(), ExitCode.INPUT)
    except (UnsafePathError, ModelPathError) as exc:
        fail("paths", exc.diagnostics(), ExitCode.PATHS)
    except SigningError as exc:
        fail("sign", exc.diagnostics(), ExitCode.FAILURE)
    except OSError as exc:
        fail("sign", f"cannot write {output}: {exc.strerror}", ExitCode.INPUT)
    if as_json:
        summary = {
            "model": str(model_path),
            "signature": str(output),
            "resources": len(result.manifest.resources),
            "method": str(serialization.method),
            "hash": str(serialization.hash_algorithm),
            "signer": signer.describe(),
        }
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"signed {model_path} ({len(result.manifest.resources)} "
        f"resource{'' if len(result.manifest.resources) == 1 else 's'}, "
        f"{serialization.method}/{serialization.hash_algorithm}) "
        f"with {signer.describe()} -> {output}"
    )
    click.echo(f"key id: {key_id(signer.public_key)}")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"keygen": keygen, "sign": sign}
