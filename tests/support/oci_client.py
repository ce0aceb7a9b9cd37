"""A small /v2/ client over the test client, and helpers to build artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from litestar.testing import TestClient

from tests.support.registry_helpers import sha256_digest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


@dataclass
class Oci:
    """A thin client over the Litestar test client, speaking /v2/ with a push token."""

    client: TestClient  # type: ignore[type-arg]
    headers: dict[str, str]
    name: str = "acme/model"

    def push_blob(self, data: bytes, name: str | None = None) -> str:
        digest = sha256_digest(data)
        response = self.client.post(
            f"/v2/{name or self.name}/blobs/uploads/?digest={digest}",
            content=data,
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return digest

    def manifest(
        self,
        layers: list[bytes],
        *,
        config: bytes = b"{}",
        config_type: str = EMPTY,
        artifact_type: str | None = None,
        subject: dict[str, Any] | None = None,
        titles: list[str] | None = None,
        name: str | None = None,
    ) -> bytes:
        config_digest = self.push_blob(config, name)
        descriptors = []
        for i, layer in enumerate(layers):
            digest = self.push_blob(layer, name)
            descriptor: dict[str, Any] = {
                "mediaType": "application/vnd.cncf.model.weight.v1.raw",
                "digest": digest,
                "size": len(layer),
            }
            if titles:
                descriptor["annotations"] = {"org.opencontainers.image.title": titles[i]}
            descriptors.append(descriptor)
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": config_digest, "size": len(config)},
            "layers": descriptors,
        }
        if artifact_type:
            document["artifactType"] = artifact_type
        if subject:
            document["subject"] = subject
        return json.dumps(document, separators=(",", ":")).encode()

    def put_manifest(self, reference: str, body: bytes, name: str | None = None) -> Any:
        return self.client.put(
            f"/v2/{name or self.name}/manifests/{reference}",
            content=body,
            headers={**self.headers, "Content-Type": OCI_MANIFEST},
        )


def descriptor_of(body: bytes, media_type: str = OCI_MANIFEST) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(body), "size": len(body)}


def oci_code(response: Any) -> str:
    assert 400 <= response.status_code < 500, response.text
    code: str = response.json()["errors"][0]["code"]
    return code


__all__ = ["Oci", "descriptor_of", "json", "oci_code"]
