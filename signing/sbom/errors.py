"""The errors of :mod:`signing.sbom`.

:class:`SbomError` (a :class:`~signing.errors.SigningError`) is the root. Two
families are kept apart, because the people who must act on them differ:

* generation: a model file is not what it claims to be
  (:class:`ModelFileError`: :class:`SafetensorsHeaderError`,
  :class:`OnnxModelError`, :class:`ExternalDataError`) or the metadata given
  for the BOM is unusable (:class:`BomMetadataError`);
* ingestion: an uploaded BOM is refused (:class:`BomRejected` and its
  children, one per check, in the order the checks run) or does not describe
  the bytes it is attached to (:class:`BomBindingError`).

Every ingestion error carries a stable ``code`` (for problem details and audit
rows) and its message names the first thing that is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from signing.errors import SigningError

__all__ = [
    "BomBindingError",
    "BomDigestMismatch",
    "BomMetadataError",
    "BomNotCycloneDx",
    "BomNotJson",
    "BomRejected",
    "BomSchemaError",
    "BomTooDeep",
    "BomTooLarge",
    "DuplicateBomRef",
    "ExternalDataError",
    "MissingBomHashes",
    "ModelFileError",
    "OnnxModelError",
    "SafetensorsHeaderError",
    "SbomError",
    "SchemaViolation",
    "UnsupportedSpecVersion",
]


class SbomError(SigningError):
    """Root of every error raised by :mod:`signing.sbom`."""

    code = "SBOM_ERROR"


# --- generation -------------------------------------------------------------


class ModelFileError(SbomError):
    """A model file's own header is malformed or inconsistent with its bytes."""

    code = "MODEL_FILE_INVALID"

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class SafetensorsHeaderError(ModelFileError):
    """A safetensors header is malformed, names a tensor twice, or lies about offsets."""

    code = "SAFETENSORS_HEADER_INVALID"


class OnnxModelError(ModelFileError):
    """An ONNX file cannot be parsed as a model."""

    code = "ONNX_MODEL_INVALID"


class ExternalDataError(OnnxModelError):
    """An ONNX tensor's external data is absolute, uses ``..``, or is not a file of the model."""

    code = "ONNX_EXTERNAL_DATA_INVALID"


class BomMetadataError(SbomError):
    """Metadata given for a BOM (licence, dataset, spec version, ...) is unusable."""

    code = "BOM_METADATA_INVALID"


# --- ingestion ----------------------------------------------------------------


class BomRejected(SbomError):
    """An uploaded BOM is refused before it is stored."""

    code = "BOM_INVALID"


class BomTooLarge(BomRejected):
    """The BOM is larger than the configured limit."""

    code = "BOM_TOO_LARGE"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the BOM is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit


class BomNotJson(BomRejected):
    """The bytes are not one JSON object in UTF-8 (XML, binary, truncated, duplicate keys)."""

    code = "BOM_NOT_JSON"


class BomTooDeep(BomRejected):
    """Arrays and objects are nested deeper than the configured limit."""

    code = "BOM_TOO_DEEP"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the JSON is nested deeper than {limit} levels")
        self.limit = limit


class BomNotCycloneDx(BomRejected):
    """The JSON object is not a CycloneDX BOM (``bomFormat`` is missing or different)."""

    code = "BOM_NOT_CYCLONEDX"


class UnsupportedSpecVersion(BomRejected):
    """``specVersion`` is not one of the accepted CycloneDX versions."""

    code = "BOM_SPEC_VERSION_UNSUPPORTED"

    def __init__(self, found: object, accepted: Sequence[str]) -> None:
        super().__init__(f"specVersion {found!r} is not accepted; accepted: {', '.join(accepted)}")
        self.found = found
        self.accepted = tuple(accepted)


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One schema violation: where (an RFC 6901 JSON pointer) and what."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class BomSchemaError(BomRejected):
    """The BOM does not validate against the CycloneDX schema of its ``specVersion``."""

    code = "BOM_SCHEMA_INVALID"

    def __init__(self, spec_version: str, violations: Sequence[SchemaViolation]) -> None:
        listed = "; ".join(str(v) for v in violations)
        super().__init__(f"not valid CycloneDX {spec_version}: {listed}")
        self.spec_version = spec_version
        self.violations = tuple(violations)

    @property
    def pointers(self) -> tuple[str, ...]:
        """The JSON pointers of the first violations, in the order found."""
        return tuple(v.pointer for v in self.violations)


class DuplicateBomRef(BomRejected):
    """Two objects in the BOM carry the same ``bom-ref``."""

    code = "BOM_DUPLICATE_BOM_REF"

    def __init__(self, ref: str, first: str, second: str) -> None:
        super().__init__(f"bom-ref {ref!r} is used twice: at {first} and at {second}")
        self.ref = ref
        self.pointers = (first, second)


class BomBindingError(SbomError):
    """The BOM does not describe this model version's bytes."""

    code = "BOM_NOT_BOUND"


class MissingBomHashes(BomBindingError):
    """The BOM has no SHA-256 that could bind it (no model digest, no file digests)."""

    code = "BOM_HASHES_MISSING"


class BomDigestMismatch(BomBindingError):
    """A digest in the BOM differs from the version's, or the file sets differ."""

    code = "BOM_DIGEST_MISMATCH"
