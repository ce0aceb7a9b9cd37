"""C2PA submissions: Content Credentials validated by :mod:`verifier.provenance.c2pa`."""

from __future__ import annotations

from registry.hub.errors import Rejected
from registry.hub.intake import ImagePart
from registry.hub.registration import Claim


def c2pa_claim(image: ImagePart, anchors: bytes | None) -> Claim:
    raise Rejected("c2pa", "C2PA registration is not available yet")


def c2pa_ancestors(image: ImagePart, anchors: bytes | None) -> tuple[list[str], list[str]] | None:
    return None
