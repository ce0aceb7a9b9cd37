"""The shared ``sha256:<hex>`` value type and the registry's subclass of it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from registry.digests import Digest as RegistryDigest
from registry.errors import DigestInvalid
from signing.digests import Digest
from signing.errors import DigestError, SigningError

HEX = hashlib.sha256(b"weights").hexdigest()


def test_bytes_file_and_text_agree(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    parsed = Digest.parse(f"sha256:{HEX}")
    assert Digest.of_bytes(b"weights") == Digest.of_file(path) == parsed
    assert str(parsed) == f"sha256:{HEX}" and parsed.hex == HEX


@pytest.mark.parametrize(
    "text",
    ["sha256:" + HEX.upper(), "sha256:" + HEX[:-1], "sha512:" + HEX * 2, HEX, "x" * 300],
)
def test_malformed_digests_are_refused_in_both_families(text: str) -> None:
    with pytest.raises(DigestError) as shared:
        Digest.parse(text)
    assert isinstance(shared.value, SigningError)
    with pytest.raises(DigestInvalid) as answered:
        RegistryDigest.parse(text)
    assert str(shared.value) in str(answered.value)  # the HTTP answer says the same


def test_the_registry_digest_is_the_shared_one() -> None:
    parsed = RegistryDigest.parse(f"sha256:{HEX}")
    assert isinstance(parsed, RegistryDigest) and isinstance(parsed, Digest)
    assert type(RegistryDigest.of_bytes(b"weights")) is RegistryDigest
