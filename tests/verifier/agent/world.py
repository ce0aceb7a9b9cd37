"""A registry world for agent tests: a live registry for bytes, a test TUF repository for trust.

:class:`World` publishes a model version the way ``custody publish`` does (blobs,
ModelPack manifest, OMS signature referrer) to a live registry on 127.0.0.1 and
signs its TUF targets (files, ``@manifest``, aliases) in a
:class:`~tests.verifier.agent.tuf_repository.TufRepository` served to the agent
in memory. Tests then break exactly one thing and watch the agent refuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from signing import KeySigner, generate_private_key, sign_model
from signing.keys import public_key_pem
from signing.media_types import OCI_MANIFEST
from signing.oms import BUNDLE_MEDIA_TYPE
from tests.verifier.agent.tuf_repository import MemoryFetcher, TufRepository, quoted, sha256_hex
from verifier.agent import Agent, AgentConfig, ExpiryPolicy
from verifier.clients.publish import push_model
from verifier.clients.push import PushClient
from verifier.clients.registry import sha256_digest
from verifier.trust_policy_file import parse_trust_policy

EMPTY = b"{}"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"


@dataclass
class Published:
    version: str
    manifest: bytes
    digest: str
    layers: list[dict[str, object]]
    files: dict[str, bytes]


@dataclass
class World:
    base: str
    token: str
    root: Path
    repository: str = "acme/model"
    server_blobs: Path | None = None  # the live registry's blob store (to tamper with)
    tuf: TufRepository = field(
        default_factory=lambda: TufRepository(("acme", "beta"), lifetime=timedelta(days=1))
    )
    key: object = field(default_factory=lambda: generate_private_key("ed25519"))
    published: dict[str, Published] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fetcher: MemoryFetcher = self.tuf.serve()

    # -- the release side ---------------------------------------------------------

    def push(
        self, version: str, files: dict[str, bytes], *, sign: bool = True, key: object = None
    ) -> Published:
        source = self.root / f"src-{self.repository.replace('/', '_')}-{version}"
        source.mkdir(parents=True)
        for name, data in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)
        with PushClient(self.base, self.token) as client:
            push_model(client, source, self.repository, version)
            fetched = client.get_manifest(self.repository, version)
            if sign:
                bundle = sign_model(source, KeySigner(key or self.key)).bundle.to_bytes()
                self.attach_signature(client, fetched.digest, len(fetched.body), bundle)
        layers = fetched.json()["layers"]
        published = Published(version, fetched.body, fetched.digest, layers, dict(files))
        self.published[version] = published
        return published

    def attach_signature(self, client: PushClient, digest: str, size: int, bundle: bytes) -> None:
        for blob in (EMPTY, bundle):
            path = self.root / f"blob-{sha256_hex(blob)}"
            path.write_bytes(blob)
            client.upload_blob(self.repository, path, sha256_digest(blob), len(blob))
        referrer = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": BUNDLE_MEDIA_TYPE,
            "config": {"mediaType": EMPTY_TYPE, "digest": sha256_digest(EMPTY), "size": 2},
            "layers": [
                {
                    "mediaType": BUNDLE_MEDIA_TYPE,
                    "digest": sha256_digest(bundle),
                    "size": len(bundle),
                }
            ],
            "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": size},
        }
        body = json.dumps(referrer).encode()
        client.put_manifest(self.repository, sha256_digest(body), body)

    def sign_version(self, published: Published, namespace: str = "acme") -> None:
        """Add the version's file and @manifest targets to the namespace role."""
        repo, version = self.repository, published.version
        for layer in published.layers:
            title = str(layer["annotations"]["org.opencontainers.image.title"])  # type: ignore[index]
            self.tuf.add_target_info(
                namespace,
                f"{repo}/{version}/{quoted(title)}",
                int(layer["size"]),  # type: ignore[call-overload]
                str(layer["digest"]).removeprefix("sha256:"),
                {"manifest": published.digest, "mediaType": str(layer["mediaType"])},
            )
        self.tuf.add_target(
            namespace,
            f"{repo}/{version}/@manifest",
            published.manifest,
            {"mediaType": OCI_MANIFEST},
        )

    def set_alias(self, alias: str, published: Published, namespace: str = "acme") -> None:
        self.tuf.add_target(
            namespace,
            f"{self.repository}/@alias/{alias}",
            published.manifest,
            {"version": published.version, "manifest": published.digest},
        )

    def release(
        self, version: str, files: dict[str, bytes], alias: str = "production"
    ) -> Published:
        """Push, sign, sign the TUF targets, move the alias, publish the metadata."""
        published = self.push(version, files)
        self.sign_version(published)
        self.set_alias(alias, published)
        self.tuf.publish()
        return published

    # -- the edge side ------------------------------------------------------------

    def policy_text(self, key: object = None) -> str:
        pem = public_key_pem((key or self.key).public_key()).decode()  # type: ignore[attr-defined]
        indented = "\n".join("          " + line for line in pem.strip().splitlines())
        return (
            "version: 1\nnamespaces:\n  - match: acme/*\n    threshold: 1\n    signers:\n"
            "      - name: release\n        public_key_pem: |\n" + indented + "\n"
        )

    def agent(
        self,
        *,
        cache: str | Path = "cache",
        offline: bool = False,
        grace: timedelta = timedelta(0),
        policy_key: object = None,
        registry: str | None = None,
        mirror: Path | None = None,
    ) -> Agent:
        """An agent on this world; ``cache`` is a name under the world's root, or a path
        as an operator would type it (relative, absolute, through a symlink)."""
        return Agent(
            AgentConfig(
                cache_dir=cache if isinstance(cache, Path) else self.root / cache,
                trust_root=self.tuf.root_bytes(),
                trust_policy=parse_trust_policy(self.policy_text(policy_key)),
                registry=registry or self.base,
                token=self.token,
                offline=offline,
                mirror=mirror,
                expiry=ExpiryPolicy(grace),
                metadata_fetcher=self.fetcher,
            )
        )
