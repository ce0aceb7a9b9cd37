"""A hub with one registered output (signed output manifest + latent chain) and one reprint,
for the provenance page (``/ui/-/verify``). Works over ``httpx`` against a live server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signing.keys import generate_private_key
from signing.signers import KeySigner
from tests.registry.hub.conftest import (
    Generation,
    Keys,
    generate,
    push_version,
    write_reprint_policy,
    write_trust_policy,
)
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer

CREATOR = "alice@acme.example"
REPRINTER = "daily-planet"


def hub_keys() -> Keys:
    return Keys(*(KeySigner(generate_private_key("ed25519")) for _ in range(4)))


def hub_env(root: Path, keys: Keys) -> dict[str, str]:
    """The server's environment: the reprint policy and the trust policy for ``acme/**``."""
    return {
        "CUSTODY_REPRINT_POLICY": str(write_reprint_policy(root, keys)),
        "CUSTODY_TRUST_POLICY": str(write_trust_policy(root, keys)),
    }


@dataclass(frozen=True)
class Registered:
    token: str
    model: str
    generation: Generation


def register_output(
    client: Any, token: str, root: Path, keys: Keys, image: bytes, *, reprint: bool = True
) -> Registered:
    """Push a signed model version of ``acme/sd``, register ``image`` as its output (with
    its latent chain), and reprint it once (``daily-planet``, with attribution). ``token``
    is an admin token of ``acme`` (``issue(database_url, "acme", "admin")``)."""
    model = push_version(Oci(client, bearer(token), "acme/sd"), signer=keys.release, root=root)
    generation = generate(keys, model, image=image, steps=4)
    registered = client.post("/api/v1/outputs", files=generation.files(), headers=bearer(token))
    assert registered.status_code == 201, registered.text
    if reprint:
        body = json.dumps({"reprinter": REPRINTER, "attribution": True}).encode()
        reprinted = client.post(
            "/api/v1/reprints",
            files={
                "request": ("request.json", body, "application/json"),
                "image": ("image.png", image, "image/png"),
            },
            headers=bearer(token),
        )
        assert reprinted.status_code == 201, reprinted.text
    return Registered(token, model, generation)
