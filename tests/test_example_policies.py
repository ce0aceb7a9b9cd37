"""Every example policy in ``policies/`` loads as shipped, validates, and does what it says.

The trust example is used the way the README uses it: ``custody verify --policy
policies/trust-policy.example.yaml`` on a real signed model. Its ``acme-research/*``
rule trusts the demonstration root ``policies/ca/acme-root.pem``; the test issues a
leaf certificate from that root (its private key is a published test asset,
``tests/assets/policies/acme-root.key``) and signs with it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from custody.cli import cli
from registry.admission_policy import load_admission_policy
from registry.verification.decisions import FileEntry, check_files
from signing.keys import generate_private_key
from signing.sign import sign_model
from signing.signers import CertificateSigner, KeySigner
from tests.support.signing_factories import _certificate, make_model
from verifier.provenance.reprint_policy import load_reprint_policy
from verifier.provenance.terms import ReprintRequest
from verifier.trust_policy_file import load_trust_policy

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
EXAMPLE_TRUST = POLICIES / "trust-policy.example.yaml"
DEMO_ROOT_KEY = REPO / "tests" / "assets" / "policies" / "acme-root.key"

LOADERS: dict[str, Callable[[Path], object]] = {
    "trust-policy": load_trust_policy,
    "admission-policy": load_admission_policy,
    "reprint-policy": load_reprint_policy,
}
runner = CliRunner()


def _examples() -> list[Path]:
    return sorted(POLICIES.glob("*.example.yaml"))


def test_every_example_has_a_loader() -> None:
    kinds = {p.name.removesuffix(".example.yaml") for p in _examples()}
    assert kinds == set(LOADERS), "a new example policy needs a loader in this test"


@pytest.mark.parametrize("example", _examples(), ids=lambda p: p.name)
def test_each_example_loads_as_shipped_and_matches_its_schema(example: Path) -> None:
    kind = example.name.removesuffix(".example.yaml")
    loaded = LOADERS[kind](example)  # the real loader, files resolved next to the example
    assert getattr(loaded, "rules", ())
    schema = json.loads((POLICIES / f"{kind}.v1.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(example.read_text()))


def test_policies_ship_no_private_key() -> None:
    for path in POLICIES.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path


def _leaf(san: str) -> CertificateSigner:
    """A code-signing leaf issued by the example's demonstration root."""
    root = x509.load_pem_x509_certificate((POLICIES / "ca" / "acme-root.pem").read_bytes())
    root_key = serialization.load_pem_private_key(DEMO_ROOT_KEY.read_bytes(), None)
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    leaf = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, san)]),
        root.subject,
        leaf_key.public_key(),
        root_key,
        ca=False,
        path_length=None,
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=1),
        issuer_key=root_key.public_key(),
        san=san,
    )
    return CertificateSigner(KeySigner(leaf_key), [leaf])


def _signed_model(tmp_path: Path, signer: KeySigner | CertificateSigner) -> tuple[Path, Path]:
    model = make_model(tmp_path / "llm", {"model.safetensors": b"weights", "config.json": b"{}"})
    signature = tmp_path / "llm.sig"
    sign_model(model, signer, output=signature)
    return model, signature


def _verify(model: Path, signature: Path, *lookup: str):  # type: ignore[no-untyped-def]
    args = ["verify", str(model), "--signature", str(signature), "--policy", str(EXAMPLE_TRUST)]
    return runner.invoke(cli, [*args, *lookup], catch_exceptions=False)


@pytest.mark.parametrize(
    "lookup", [("--repository", "acme-research/llm"), ("--namespace", "acme-research")]
)
def test_the_trust_example_verifies_a_model_signed_under_its_ca(
    tmp_path: Path, lookup: tuple[str, str]
) -> None:
    model, signature = _signed_model(tmp_path, _leaf("ana@research.acme.example"))
    result = _verify(model, signature, *lookup, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["verified"] is True
    assert [s["trusted_as"] for s in report["signers"]] == ["acme-ca"]
    assert not report.get("findings"), report


def test_the_trust_example_reports_a_subject_outside_its_constraint(tmp_path: Path) -> None:
    # The rule is level "audit": the failure is reported, not enforced.
    model, signature = _signed_model(tmp_path, _leaf("mallory@evil.example"))
    result = _verify(model, signature, "--repository", "acme-research/llm")
    assert result.exit_code == 0, result.output
    assert "WARNING audit:" in result.output and "NOT verified" in result.output


def test_the_readme_command_fails_on_trust_not_on_loading(tmp_path: Path) -> None:
    """``custody verify ./my-model --policy <example> --namespace acme`` with one's own key:
    the policy loads, the acme rule applies, and a key it does not name is refused."""
    model, signature = _signed_model(tmp_path, KeySigner(generate_private_key("ecdsa-p256")))
    result = _verify(model, signature, "--namespace", "acme")
    assert result.exit_code == 9, result.output
    assert "rule 'acme/**'" in result.output and "2 required" in result.output


def test_the_admission_and_reprint_examples_apply_to_acme_repositories() -> None:
    admission = load_admission_policy(POLICIES / "admission-policy.example.yaml")
    rule = admission.rule_for("acme/sd-turbo")
    assert rule.strict
    refused = check_files(rule, [FileEntry("pytorch_model.bin", "", 10)])
    assert refused and "pickle-based" in refused[0]
    assert not check_files(rule, [FileEntry("model.safetensors", "", 10)])
    assert admission.rule_for("globex/x").line == 0  # uncovered: the defaults
    reprint = load_reprint_policy(POLICIES / "reprint-policy.example.yaml")
    assert reprint.rule_for("acme/tiny") is reprint.rule_for("acme")
    assert [c.name for c in reprint.rule_for("acme/tiny").creators] == ["acme-studio"]
    decision = reprint.decide(["attribution", "non-commercial"], ReprintRequest(True, False, True))
    assert not decision.allowed and decision.forbidding_term == "non-commercial"
