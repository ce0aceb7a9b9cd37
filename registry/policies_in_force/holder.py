"""The policies in force, loaded at start-up and swapped atomically on reload.

A reload reads and checks both files first and only then replaces the current
:class:`PolicySet`; a file that fails to load leaves the previous set in force
and the error is kept (``last_error``) and logged. Every decision the registry
makes names the content digests of the files it was made under.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from registry.admission_policy import AdmissionPolicy, parse_admission_policy
from registry.db.types import utcnow
from registry.errors import ConfigurationError
from registry.policies_in_force.errors import PolicyReloadFailed
from verifier.errors import PolicyFileInvalid
from verifier.policy_documents.document import read_policy_file
from verifier.trust_policy_file import TrustPolicy, parse_trust_policy

__all__ = [
    "NO_POLICY_DIGEST",
    "PolicyHolder",
    "PolicyReloadFailed",
    "PolicySet",
    "PolicySettingInvalid",
]

_logger = logging.getLogger(__name__)

#: The digest recorded when no file is configured (sha256 of the empty string).
NO_POLICY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True, slots=True)
class PolicySet:
    """One consistent pair of policies and the digests of the bytes they came from."""

    trust: TrustPolicy | None
    admission: AdmissionPolicy
    trust_digest: str = NO_POLICY_DIGEST
    admission_digest: str = NO_POLICY_DIGEST
    loaded_at: datetime | None = None

    def describe(self) -> dict[str, str]:
        """What audit events record about the policies a decision was made under."""
        return {"trust_policy": self.trust_digest, "admission_policy": self.admission_digest}


def _read(path: Path) -> tuple[str, str]:
    text, data = read_policy_file(path)
    return text, "sha256:" + hashlib.sha256(data).hexdigest()


class PolicySettingInvalid(PolicyFileInvalid):
    """A policy file does not load; ``setting`` names the setting that points at it.

    The file at fault may be another one (a key file the trust policy names), so
    the setting is known only where each policy is loaded, never from ``source``.
    """

    def __init__(self, setting: str, cause: PolicyFileInvalid) -> None:
        super().__init__(str(cause))
        self.source = cause.source
        self.line = cause.line
        self.setting = setting


@contextmanager
def _loading(setting: str) -> Iterator[None]:
    try:
        yield
    except PolicySettingInvalid:
        raise
    except PolicyFileInvalid as exc:
        raise PolicySettingInvalid(setting, exc) from None


def load_policy_set(trust_path: Path | None, admission_path: Path | None) -> PolicySet:
    """Read both files; raises :class:`PolicySettingInvalid` naming setting, file and line."""
    trust = None
    trust_digest = admission_digest = NO_POLICY_DIGEST
    if trust_path is not None:
        with _loading("CUSTODY_TRUST_POLICY"):
            text, trust_digest = _read(trust_path)
            trust = parse_trust_policy(text, source=str(trust_path), base_dir=trust_path.parent)
    admission = AdmissionPolicy()
    if admission_path is not None:
        with _loading("CUSTODY_ADMISSION_POLICY"):
            text, admission_digest = _read(admission_path)
            admission = parse_admission_policy(text, source=str(admission_path))
    return PolicySet(trust, admission, trust_digest, admission_digest, utcnow())


class PolicyHolder:
    """Holds the current :class:`PolicySet`; readers take ``current`` once per decision."""

    def __init__(self, trust_path: Path | None, admission_path: Path | None) -> None:
        self.trust_path = trust_path
        self.admission_path = admission_path
        self.last_error: str | None = None
        self._lock = threading.Lock()
        try:
            self._current = load_policy_set(trust_path, admission_path)
        except PolicySettingInvalid as exc:
            raise ConfigurationError(f"cannot start: {exc.setting}: {exc.diagnostics()}") from None

    @classmethod
    def fixed(cls, policies: PolicySet) -> PolicyHolder:
        """A holder around an already loaded set (tests, embedding)."""
        holder = cls(None, None)
        holder._current = policies
        return holder

    @property
    def current(self) -> PolicySet:
        return self._current

    def reload(self) -> PolicySet:
        """Re-read both files; on failure keep the previous set and raise."""
        with self._lock:
            try:
                loaded = load_policy_set(self.trust_path, self.admission_path)
            except PolicyFileInvalid as exc:
                self.last_error = exc.diagnostics()
                _logger.error("policy reload failed, previous policy kept: %s", self.last_error)
                raise PolicyReloadFailed(
                    self.last_error, extra={"in_force": self._current.describe()}
                ) from None
            self._current = loaded
            self.last_error = None
            _logger.info("policies reloaded: %s", loaded.describe())
            return loaded
