"""Everything that decides "may I trust this": policies, the edge agent, proofs.

``verifier`` imports ``signing`` and never ``registry``, Litestar or SQLAlchemy,
so an edge device can install it without the service. It verifies OpenSSF
Model Signing bundles against trusted keys, certificate authorities or Sigstore
identities (offline), checks every file of the model, and evaluates trust
policies (thresholds over distinct signers, ``AllOf`` / ``AnyOf``).

Example::

    >>> import tempfile, pathlib
    >>> from signing import KeySigner, generate_private_key, sign_model
    >>> from verifier import TrustedKey, verify_model
    >>> model = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (model / "weights.bin").write_bytes(b"0123")
    >>> signer = KeySigner(generate_private_key("ed25519"))
    >>> bundle = sign_model(model, signer).bundle.to_bytes()
    >>> result = verify_model(model, bundle, TrustedKey(signer.public_key))
    >>> result.signers[0].kind, list(result.manifest.file_names())
    ('key', ['weights.bin'])
"""

from verifier._integrity import check_integrity
from verifier._sigstore import load_trusted_root, verify_sigstore_bundle
from verifier.errors import (
    BundleInvalid,
    CertificateChainInvalid,
    EmptyPolicy,
    FetchError,
    IdentityMismatch,
    IntegrityError,
    KeyMismatch,
    MaterialUnreadable,
    NoPolicyForNamespace,
    PolicyError,
    PolicyFileInvalid,
    SignatureInvalid,
    ThresholdNotMet,
    UnsafeModelPath,
    UntrustedSigner,
    VerificationError,
)
from verifier.model import VerifiedModel, load_bundle, verify_model, verify_model_with_policy
from verifier.policy_documents.rule_matching import rule_matches
from verifier.signature_policies import (
    AllOf,
    AnyOf,
    Audit,
    Evidence,
    Policy,
    Threshold,
    VerifiedSignature,
    count_distinct_signers,
)
from verifier.trust import (
    SignerIdentity,
    SubjectConstraint,
    TrustedCertificateAuthority,
    TrustedKey,
    TrustedSigner,
    TrustedSigstoreIdentity,
)
from verifier.trust_policy_file import (
    NamespaceRule,
    TrustPolicy,
    load_trust_policy,
    parse_trust_policy,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "Audit",
    "BundleInvalid",
    "CertificateChainInvalid",
    "EmptyPolicy",
    "Evidence",
    "FetchError",
    "IdentityMismatch",
    "IntegrityError",
    "KeyMismatch",
    "MaterialUnreadable",
    "NamespaceRule",
    "NoPolicyForNamespace",
    "Policy",
    "PolicyError",
    "PolicyFileInvalid",
    "SignatureInvalid",
    "SignerIdentity",
    "SubjectConstraint",
    "Threshold",
    "ThresholdNotMet",
    "TrustPolicy",
    "TrustedCertificateAuthority",
    "TrustedKey",
    "TrustedSigner",
    "TrustedSigstoreIdentity",
    "UnsafeModelPath",
    "UntrustedSigner",
    "VerificationError",
    "VerifiedModel",
    "VerifiedSignature",
    "check_integrity",
    "count_distinct_signers",
    "load_bundle",
    "load_trust_policy",
    "load_trusted_root",
    "parse_trust_policy",
    "rule_matches",
    "verify_model",
    "verify_model_with_policy",
    "verify_sigstore_bundle",
]
