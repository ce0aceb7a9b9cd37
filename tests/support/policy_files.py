"""Release keys, policy files, signed versions and signature referrers for policy tests."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signing.keys import write_key_pair
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.oci_client import Oci, descriptor_of

SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
RELEASE_KEYS = ("alice", "bob", "carol")


@dataclass
class PolicyFiles:
    root: Path
    trust: Path
    admission: Path

    def key(self, name: str) -> Path:
        return self.root / "keys" / name

    def write_trust(self, signers: tuple[str, ...] = RELEASE_KEYS, threshold: int = 1) -> None:
        entries = "".join(
            f"      - {{name: {name}, public_key: keys/{name}.pub}}\n" for name in signers
        )
        self.trust.write_text(
            "version: 1\nnamespaces:\n"
            f'  - match: "acme/*"\n    threshold: {threshold}\n    signers:\n{entries}'
        )


def make_policy_files(root: Path, *, strict: bool = True) -> PolicyFiles:
    """alice, bob and carol are trusted for ``acme``; mallory is nobody."""
    (root / "keys").mkdir(parents=True)
    for name in (*RELEASE_KEYS, "mallory"):
        write_key_pair(root / "keys" / name, "ed25519", None)
    files = PolicyFiles(root, root / "trust.yaml", root / "admission.yaml")
    files.write_trust()
    files.admission.write_text(
        textwrap.dedent(
            f"""\
            version: 1
            namespaces:
              - match: "acme/*"
                strict: {"true" if strict else "false"}
                aliases:
                  - match: staging
                    signatures: 1
                  - match: production
                    signatures: 2
                    signers: [alice, bob, carol]
                    require_sbom: true
                    licenses: [Apache-2.0]
            """
        )
    )
    return files


def write_model(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def push_version(oci: Oci, model: Path, version: str, name: str = "acme/model") -> bytes:
    """Push every file of ``model`` as a layer titled with its relative path."""
    paths = sorted(p for p in model.rglob("*") if p.is_file())
    body = oci.manifest(
        [p.read_bytes() for p in paths],
        titles=[p.relative_to(model).as_posix() for p in paths],
        name=name,
    )
    response = oci.put_manifest(version, body, name=name)
    assert response.status_code == 201, response.text
    return body


def sign_dir(model: Path, key: Path) -> bytes:
    return sign_model(model, KeySigner.from_pem_file(key)).bundle.to_bytes()


def attach_signature(oci: Oci, subject: bytes, bundle: bytes, name: str = "acme/model") -> Any:
    body = oci.manifest(
        [bundle], artifact_type=SIGSTORE_BUNDLE, subject=descriptor_of(subject), name=name
    )
    digest = descriptor_of(body)["digest"]
    return oci.put_manifest(digest, body, name=name)
