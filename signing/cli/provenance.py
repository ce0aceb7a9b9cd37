"""``custody latent sign``, ``custody latent salt`` and ``custody output sign``.

A latent chain on disk is a JSON Lines file: one DSSE envelope per line, root
first; ``latent sign --chain FILE`` appends a record whose parent is the last
line's record. Failures print one line, ``FAILED [check]: reason``, and exit
3 (a key, certificate, input file or value cannot be used) or 1 (signing failed).

These commands join the verifier's in the root's ``latent`` and ``output``
groups (:data:`COMMANDS`); this package imports no verifier code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from signing.errors import CertificateMismatch, KeyLoadError, SigningError
from signing.exit_codes import ExitCode, fail
from signing.provenance.c2pa_sign import sign_c2pa
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.latent import canonical_latent_digest, prompt_hash, sign_latent_record
from signing.provenance.output import image_digest, sign_output_manifest
from signing.provenance.statements import record_digest
from signing.signers import CertificateSigner, Signer, load_signer

__all__ = ["COMMANDS", "latent_salt", "latent_sign", "output_sign", "read_chain"]

_MIME_BY_SUFFIX = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail("input", f"cannot read {what} {str(path)!r}: {exc.strerror}", ExitCode.INPUT)


def read_chain(path: Path) -> list[bytes]:
    """The envelopes of a latent chain file (JSON Lines, blank lines skipped)."""
    return [line for line in _read(path, "latent chain").splitlines() if line.strip()]


def _signer(key: str, passphrase_env: str | None, chain: tuple[Path, ...] = ()) -> Signer:
    def secrets(what: str) -> str:
        if passphrase_env is not None and passphrase_env in os.environ:
            return os.environ[passphrase_env]
        raise KeyLoadError(f"the key needs a {what}: use --passphrase-env")

    try:
        return load_signer(key, certificate_chain=chain, secrets=secrets)
    except (KeyLoadError, CertificateMismatch) as exc:
        fail("key", exc.diagnostics(), ExitCode.INPUT)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.UsageError(f"{what} {value!r} is not NAME=VALUE")
        pairs[name] = text
    return pairs


def _scalar(text: str) -> str | int | float | bool:
    """A --param value as the JSON scalar it spells (42, 0.5, true), else the string."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


_key = click.option("--key", required=True, help="Key reference: a PEM file, or file:PATH.")
_passphrase = click.option(
    "--passphrase-env", metavar="VAR", help="Read the key passphrase from this variable."
)
_model = click.option(
    "--model", "model_reference", required=True, help="The model version: REPO@sha256:DIGEST."
)


@click.command("salt")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
def latent_salt(out: Path) -> None:
    """Write a fresh 32-byte prompt salt (mode 0600). Keep it: it proves the prompt later."""
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        fail("input", f"cannot create {out}: {exc.strerror}", ExitCode.INPUT)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(32))
    click.echo(f"wrote {out}")


@click.command("sign", epilog="Exit status: 0 signed; 2 usage; 3 unusable input or key; 1 other.")
@click.argument("latent", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--dtype", required=True, help="Element type, e.g. float32, float16, bfloat16.")
@click.option("--shape", required=True, help="Comma-separated sizes, e.g. 1,4,128,128.")
@click.option("--step", required=True, type=click.IntRange(min=0))
@_model
@click.option("--sampler", required=True)
@click.option("--scheduler", required=True)
@click.option("--seed", required=True, type=click.IntRange(min=0))
@click.option("--guidance", required=True, type=float)
@click.option("--node-id", required=True, help="The producing node's identity.")
@click.option("--prompt-hash", "prompt_digest", help="hmac-sha256:... (from the pipeline).")
@click.option("--prompt-file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--salt-file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--param", "params", multiple=True, help="Other parameter NAME=VALUE (repeatable).")
@click.option("--runtime", "runtime", multiple=True, help="Runtime NAME=VERSION (repeatable).")
@click.option(
    "--chain",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Chain file (JSON Lines) to append to; its last record becomes the parent.",
)
@_key
@_passphrase
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def latent_sign(
    latent: Path,
    dtype: str,
    shape: str,
    step: int,
    model_reference: str,
    sampler: str,
    scheduler: str,
    seed: int,
    guidance: float,
    node_id: str,
    prompt_digest: str | None,
    prompt_file: Path | None,
    salt_file: Path | None,
    params: tuple[str, ...],
    runtime: tuple[str, ...],
    chain: Path,
    key: str,
    passphrase_env: str | None,
    as_json: bool = False,
) -> None:
    """Sign one latent (raw C-order little-endian bytes in LATENT) and append it to --chain."""
    if (prompt_digest is None) == (prompt_file is None) or (prompt_file is None) != (
        salt_file is None
    ):
        raise click.UsageError("give --prompt-hash, or --prompt-file with --salt-file")
    try:
        dims = [int(d) for d in shape.split(",")]
    except ValueError:
        raise click.UsageError(f"--shape {shape!r} is not comma-separated integers") from None
    signer = _signer(key, passphrase_env)
    existing = read_chain(chain) if chain.exists() else []
    try:
        parent = record_digest(existing[-1]) if existing else None
        if prompt_file is not None and salt_file is not None:
            prompt = _read(prompt_file, "prompt file").decode("utf-8")
            prompt_digest = prompt_hash(prompt, _read(salt_file, "salt file"))
        envelope = sign_latent_record(
            signer,
            latent_digest=canonical_latent_digest(_read(latent, "latent"), dtype, dims),
            dtype=dtype,
            shape=dims,
            step=step,
            model_reference=model_reference,
            sampler=sampler,
            scheduler=scheduler,
            seed=seed,
            guidance=guidance,
            prompt_hash=str(prompt_digest),
            parent=parent,
            node_id=node_id,
            runtime=_pairs(runtime, "--runtime"),
            parameters={k: _scalar(v) for k, v in _pairs(params, "--param").items()},
        )
    except (ProvenanceFormatError, UnicodeDecodeError) as exc:
        fail("input", str(exc), ExitCode.INPUT)
    except SigningError as exc:
        fail("sign", exc.diagnostics(), ExitCode.FAILURE)
    try:
        with chain.open("ab") as handle:
            handle.write(envelope + b"\n")
    except OSError as exc:
        fail("input", f"cannot write {chain}: {exc.strerror}", ExitCode.INPUT)
    digest = record_digest(envelope)
    if as_json:
        click.echo(
            json.dumps({"step": step, "record": digest, "parent": parent, "chain": str(chain)})
        )
        return
    click.echo(f"step {step}: {digest} (parent {parent or 'none: root'}) -> {chain}")


@click.command("sign", epilog="Exit status: 0 signed; 2 usage; 3 unusable input or key; 1 other.")
@click.argument("image", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_model
@click.option(
    "--latents",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The latent chain (JSON Lines, root first); its last record is the final latent.",
)
@_key
@_passphrase
@click.option("--license", "license_id", required=True, help="SPDX licence expression.")
@click.option(
    "--terms",
    multiple=True,
    required=True,
    help="Reprint terms, comma-separated or repeated (e.g. attribution,non-commercial).",
)
@click.option("--creator", "creator_id", required=True, help="The creator's identity.")
@click.option(
    "--ingredient",
    "ingredients",
    multiple=True,
    help="A parent output: its image file or sha256:DIGEST (repeatable).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the output manifest (default: IMAGE.custody.json).",
)
@click.option("--c2pa", "embed_c2pa", is_flag=True, help="Also embed C2PA Content Credentials.")
@click.option(
    "--cert-chain",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --c2pa: PEM certificates for the key, leaf first (repeatable).",
)
@click.option(
    "--c2pa-output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --c2pa: where to write the signed image (default: IMAGE with .c2pa before "
    "the suffix).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def output_sign(
    image: Path,
    model_reference: str,
    latents: Path,
    key: str,
    passphrase_env: str | None,
    license_id: str,
    terms: tuple[str, ...],
    creator_id: str,
    ingredients: tuple[str, ...],
    output: Path | None,
    embed_c2pa: bool,
    cert_chain: tuple[Path, ...],
    c2pa_output: Path | None,
    as_json: bool = False,
) -> None:
    """Sign an output manifest for IMAGE (and, with --c2pa, embed Content Credentials)."""
    if embed_c2pa and not cert_chain:
        raise click.UsageError("--c2pa needs --cert-chain (C2PA signs with a certificate)")
    data = _read(image, "image")
    chain = read_chain(latents)
    if not chain:
        fail("input", f"latent chain {latents} is empty", ExitCode.INPUT)
    parents: list[tuple[bytes, str]] = []
    parent_digests = []
    for item in ingredients:
        if item.startswith("sha256:"):
            parent_digests.append(item)
            continue
        parent = _read(Path(item), "ingredient image")
        parent_digests.append(image_digest(parent))
        parent_mime = _MIME_BY_SUFFIX.get(Path(item).suffix.lower())
        if embed_c2pa and parent_mime is None:
            fail(
                "input", f"ingredient {item}: C2PA needs a .png, .jpg or .jpeg file", ExitCode.INPUT
            )
        parents.append((parent, parent_mime or ""))
    signer = _signer(key, passphrase_env, cert_chain)
    try:
        envelope = sign_output_manifest(
            signer,
            image_digest=image_digest(data),
            model_reference=model_reference,
            final_latent=record_digest(chain[-1]),
            creator_id=creator_id,
            license=license_id,
            terms=[t.strip() for item in terms for t in item.split(",") if t.strip()],
            ingredients=parent_digests,
        )
        signed_image = None
        if embed_c2pa:
            mime = _MIME_BY_SUFFIX.get(image.suffix.lower(), "")
            if not isinstance(signer, CertificateSigner):  # pragma: no cover - cert_chain given
                fail("key", "C2PA needs a certificate signer", ExitCode.INPUT)
            signed_image = sign_c2pa(
                data,
                mime,
                signer,
                model_reference=model_reference,
                output_manifest=envelope,
                parents=parents,
                title=image.name,
            )
    except ProvenanceFormatError as exc:
        fail("input", str(exc), ExitCode.INPUT)
    except SigningError as exc:
        fail("sign", exc.diagnostics(), ExitCode.FAILURE)
    manifest_path = output or image.with_name(image.name + ".custody.json")
    c2pa_path = None
    try:
        manifest_path.write_bytes(envelope + b"\n")
        if signed_image is not None:
            c2pa_path = c2pa_output or image.with_name(f"{image.stem}.c2pa{image.suffix}")
            c2pa_path.write_bytes(signed_image)
            if not as_json:
                click.echo(f"wrote {c2pa_path} (C2PA Content Credentials)")
    except OSError as exc:
        fail("input", f"cannot write: {exc.strerror}", ExitCode.INPUT)
    if as_json:
        summary = {
            "manifest": str(manifest_path),
            "image_digest": image_digest(data),
            "c2pa": str(c2pa_path) if c2pa_path is not None else None,
            "signer": signer.describe(),
        }
        click.echo(json.dumps(summary))
        return
    click.echo(f"wrote {manifest_path} for {image_digest(data)} with {signer.describe()}")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {
    "latent sign": latent_sign,
    "latent salt": latent_salt,
    "output sign": output_sign,
}
