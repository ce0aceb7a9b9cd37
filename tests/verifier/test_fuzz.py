"""Sign, mutate, verify: a damaged bundle is refused with a VerificationError, never a crash."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.keys import generate_private_key
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.signing_factories import make_model
from verifier.errors import VerificationError
from verifier.model import verify_model
from verifier.trust import TrustedKey

_SIGNER = KeySigner(generate_private_key("ecdsa-p256"))


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    model = make_model(tmp_path_factory.mktemp("fuzz") / "model", {"a/w.bin": b"w" * 99, "c": b""})
    return model, sign_model(model, _SIGNER).bundle.to_bytes()


def _check(model: Path, bundle: bytes) -> None:
    try:
        result = verify_model(model, bundle, TrustedKey(_SIGNER.public_key))
    except VerificationError:
        return
    # A mutation that still verifies can only have touched bytes outside the signed payload
    # (JSON layout, the unused keyid): the verified files must be the signed ones.
    assert result.manifest is not None
    assert set(result.manifest.file_names()) == {"a/w.bin", "c"}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_byte_mutations_of_the_bundle(signed: tuple[Path, bytes], data: st.DataObject) -> None:
    model, bundle = signed
    position = data.draw(st.integers(0, len(bundle) - 1))
    value = data.draw(st.integers(0, 255))
    mutated = bytearray(bundle)
    mutated[position] = value
    _check(model, bytes(mutated))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutations_of_the_signed_statement(signed: tuple[Path, bytes], data: st.DataObject) -> None:
    model, bundle = signed
    document = json.loads(bundle)
    payload = bytearray(base64.b64decode(document["dsseEnvelope"]["payload"]))
    cut = data.draw(st.integers(0, len(payload)))
    junk = data.draw(st.binary(max_size=8))
    mutated = bytes(payload[:cut]) + junk + bytes(payload[cut + len(junk) :])
    document["dsseEnvelope"]["payload"] = base64.b64encode(mutated).decode()
    _check(model, json.dumps(document).encode())


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    json_value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_arbitrary_json_is_refused(signed: tuple[Path, bytes], json_value: object) -> None:
    model, _ = signed
    with pytest.raises(VerificationError):
        verify_model(model, json.dumps(json_value).encode(), TrustedKey(_SIGNER.public_key))
