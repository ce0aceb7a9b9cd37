"""The hub's own signature: attribution statements as DSSE-signed in-toto statements.

The key is the hub's, separate from the transparency log's key: the log says
"this entry was appended at index n", the hub says "this reprint is attributed
to that creator, model and licence". Compromising one does not forge the other.
The key is created (ECDSA P-256, mode 0600) on first start when missing, as the
registry does for its other online keys; its public half is served at
``GET /api/v1/hub/key`` so clients can pin it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, EnvelopeSignature, pae
from signing.keys import KeyType, key_id, public_key_pem, write_key_pair
from signing.oms import STATEMENT_TYPE
from signing.signers import KeySigner

ATTRIBUTION_TYPE = "https://custody.invalid/hub/attribution/v1"


class HubSigner:
    """Signs attribution statements with the hub key."""

    def __init__(self, signer: KeySigner) -> None:
        self._signer = signer
        self.key_id = key_id(signer.public_key)
        self.public_key_pem = public_key_pem(signer.public_key).decode("ascii")

    @classmethod
    def load_or_create(cls, path: Path) -> HubSigner:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_key_pair(path, KeyType.ECDSA_P256, None)
        return cls(KeySigner.from_pem_file(path))

    def sign(self, image_digest: str, predicate: dict[str, Any]) -> dict[str, Any]:
        """The DSSE envelope (JSON object) of an attribution statement about one image."""
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": "image", "digest": {"sha256": image_digest.split(":", 1)[1]}}],
            "predicateType": ATTRIBUTION_TYPE,
            "predicate": predicate,
        }
        payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
        signature = self._signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload))
        envelope = Envelope(
            payload, IN_TOTO_PAYLOAD_TYPE, (EnvelopeSignature(signature, self.key_id),)
        )
        return envelope.to_json()
