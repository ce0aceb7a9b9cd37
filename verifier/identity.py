"""Who signed: the verified signer identity, and the certificate names it is read from.

Shared by the trust core (:mod:`verifier.trust`) and the Sigstore adapter
(:mod:`verifier._sigstore`), so neither imports the other's internals: the
adapter depends on this module only, and :mod:`verifier.trust` on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

__all__ = ["PRINCIPAL_FORMAT", "SignerIdentity", "certificate_sans", "der_utf8"]

#: The spelling of :meth:`SignerIdentity.principals`. Whoever stores principals
#: (the registry's verdicts) stores this beside them and re-verifies on a
#: mismatch, so rows spelt two ways never meet in one threshold count. Bump it
#: whenever a principal's spelling changes. 1: ``key:`` + SHA-256 of the DER key;
#: 2: ``key:`` + :func:`~signing.keys.key_id` (the OMS key hint).
PRINCIPAL_FORMAT = 2

_SIGSTORE_OTHERNAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


@dataclass(frozen=True, slots=True)
class SignerIdentity:
    """Who signed, as established by verification.

    ``kind`` is ``key``, ``certificate`` or ``sigstore``. ``key_id`` is the
    signing key's :func:`~signing.keys.key_id` (the OMS key hint); ``subject`` and
    ``issuer`` are the certificate subject and issuing CA, or the Sigstore SAN
    and OIDC issuer. ``trusted_as`` names the trust rule that accepted it.
    """

    kind: str
    key_id: str | None = None
    subject: str | None = None
    issuer: str | None = None
    trusted_as: str = ""

    def principals(self) -> frozenset[str]:
        """Everything that makes two signatures "the same signer" for a threshold.

        A key (except Sigstore's ephemeral keys) and a subject under an issuer are
        principals; two signatures sharing any principal count once.
        """
        found = set()
        if self.key_id and self.kind != "sigstore":
            found.add(f"key:{self.key_id}")
        if self.subject:
            found.add(f"subject:{self.issuer or ''}|{self.subject}")
        return frozenset(found)

    def __str__(self) -> str:
        if self.kind == "key":
            text = f"key {self.key_id}"
        elif self.kind == "sigstore":
            text = f"{self.subject} (issuer {self.issuer})"
        else:
            text = f"certificate {self.subject} (issued by {self.issuer})"
        return f"{text} ({self.trusted_as})" if self.trusted_as else text


def certificate_sans(certificate: x509.Certificate) -> set[str]:
    """E-mail, URI, DNS and Sigstore other-name SAN values."""
    try:
        ext = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    values: set[str] = set(ext.get_values_for_type(x509.RFC822Name))
    values.update(ext.get_values_for_type(x509.UniformResourceIdentifier))
    values.update(ext.get_values_for_type(x509.DNSName))
    for other in ext.get_values_for_type(x509.OtherName):
        if other.type_id == _SIGSTORE_OTHERNAME:
            values.add(der_utf8(other.value))
    return values


def der_utf8(value: bytes) -> str:
    """Decode a DER UTF8String (tag 0x0c, short or long length form)."""
    if len(value) >= 2 and value[0] == 0x0C:
        length = value[1]
        offset = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(value[2 : 2 + count], "big")
            offset = 2 + count
        return value[offset : offset + length].decode("utf-8", "replace")
    return value.decode("utf-8", "replace")
