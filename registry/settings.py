"""Typed settings of the registry, read from the environment by the factory.

Nothing here runs at import: :meth:`Settings.from_env` is called by
``create_app()`` or the CLI, so tests build apps with whatever settings they need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from registry.errors import ConfigurationError
from registry.naming import DEFAULT_VERSION_PATTERN

_ENV_PREFIX = "CUSTODY_"
_POINT_AT_IT = f"pass --data-dir or set {_ENV_PREFIX}DATA_DIR to the registry's data directory"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(_ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{_ENV_PREFIX}{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{_ENV_PREFIX}{name} must not be negative, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(_ENV_PREFIX + name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{_ENV_PREFIX}{name} must be a boolean, got {raw!r}")


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(_ENV_PREFIX + name)
    return Path(raw) if raw else None


#: 1 GiB: room for the pushes in flight when readiness turns, and for the database to grow.
DEFAULT_MIN_FREE_BYTES = 1024**3


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the registry needs to start. Build with :meth:`from_env`."""

    data_dir: Path = field(default_factory=lambda: Path("var"))
    #: SQLAlchemy URL; ``None`` means SQLite at ``<data_dir>/custody.db``.
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    #: Largest manifest accepted (OCI recommends registries accept at least 4 MiB).
    max_manifest_bytes: int = 4 * 1024 * 1024
    #: Largest JSON body accepted on the lifecycle API.
    max_api_body_bytes: int = 1024 * 1024
    #: Largest SBOM accepted (CycloneDX JSON).
    max_sbom_bytes: int = 16 * 1024 * 1024
    #: Largest blob accepted; 0 means no limit beyond the disk.
    max_blob_bytes: int = 0
    #: ``/readyz`` reports the blob store not ready below this much free space (0: never).
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES
    #: Default lifetime of a token created without ``--expires-in`` (seconds).
    default_token_ttl_seconds: int = 90 * 24 * 3600
    #: Lifetime of OCI access tokens from the token endpoint (seconds).
    access_token_ttl_seconds: int = 300
    #: Tags matching this pattern are versions (immutable); others are aliases.
    version_pattern: str = DEFAULT_VERSION_PATTERN
    #: How long a verified credential is trusted without asking the database again.
    auth_cache_seconds: float = 5.0
    #: How long a manifest looked up by tag is served from memory.
    manifest_cache_seconds: float = 1.0
    #: Log SQL statements (development only).
    echo_sql: bool = False
    #: Trust policy (YAML) the registry verifies signatures against; unset: none is trusted.
    trust_policy: Path | None = None
    #: Admission and promotion policy (YAML); unset: the default admission rules.
    admission_policy: Path | None = None
    #: Where the TUF private keys live (files, mode 0600); ``None``: ``<data_dir>/tuf-keys``.
    tuf_keys_dir: Path | None = None
    #: Where the TUF root keys live; ``None``: with the other keys. The server never
    #: reads them (only ``custody tuf`` does), so they can stay on offline media.
    tuf_root_keys_dir: Path | None = None
    #: Lifetimes of TUF metadata (seconds); each is re-signed once half its lifetime is gone.
    tuf_timestamp_expiry_seconds: int = 24 * 3600
    tuf_snapshot_expiry_seconds: int = 7 * 24 * 3600
    tuf_targets_expiry_seconds: int = 90 * 24 * 3600
    tuf_root_expiry_seconds: int = 365 * 24 * 3600
    #: A namespace with more TUF targets than this is split into hashed bins; 0: never.
    tuf_bin_threshold: int = 2048
    #: How many targets a hashed bin should hold at most (sets the number of bins).
    tuf_targets_per_bin: int = 256
    #: Reprint hub: the reprint policy (YAML); unset leaves the hub switched off.
    reprint_policy: Path | None = None
    #: Reprint hub: PEM bundle of the C2PA signing anchors it trusts; unset refuses C2PA.
    c2pa_trust_anchors: Path | None = None
    #: Reprint hub: largest image accepted for registration or reprint.
    max_image_bytes: int = 32 * 1024 * 1024
    #: Reprint hub: PEM key signing attribution statements (made on first start if missing).
    hub_key: Path | None = None
    #: Transparency log: its own Ed25519 key file; ``None``: ``<data_dir>/keys/tlog.key``.
    tlog_key: Path | None = None
    #: Transparency log: its name (checkpoint origin) when the key is created; fixed after.
    tlog_origin: str | None = None
    #: Transparency log: largest entry accepted (the hub logs hashes, not inputs).
    tlog_max_entry_bytes: int = 64 * 1024
    #: Transparency log: most entries committed in one transaction.
    tlog_max_batch: int = 2000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``CUSTODY_*`` variables; keyword overrides (CLI flags) win."""
        env = os.environ if env is None else env
        settings = cls(
            data_dir=Path(env.get(_ENV_PREFIX + "DATA_DIR") or "var"),
            database_url=env.get(_ENV_PREFIX + "DATABASE_URL") or None,
            host=env.get(_ENV_PREFIX + "HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8080),
            max_manifest_bytes=_int(env, "MAX_MANIFEST_BYTES", 4 * 1024 * 1024),
            max_api_body_bytes=_int(env, "MAX_API_BODY_BYTES", 1024 * 1024),
            max_blob_bytes=_int(env, "MAX_BLOB_BYTES", 0),
            min_free_bytes=_int(env, "MIN_FREE_BYTES", DEFAULT_MIN_FREE_BYTES),
            max_sbom_bytes=_int(env, "MAX_SBOM_BYTES", 16 * 1024 * 1024),
            default_token_ttl_seconds=_int(env, "DEFAULT_TOKEN_TTL_SECONDS", 90 * 24 * 3600),
            access_token_ttl_seconds=_int(env, "ACCESS_TOKEN_TTL_SECONDS", 300),
            version_pattern=env.get(_ENV_PREFIX + "VERSION_PATTERN") or DEFAULT_VERSION_PATTERN,
            auth_cache_seconds=_int(env, "AUTH_CACHE_SECONDS", 5),
            manifest_cache_seconds=_int(env, "MANIFEST_CACHE_SECONDS", 1),
            echo_sql=_bool(env, "ECHO_SQL", False),
            trust_policy=_path(env, "TRUST_POLICY"),
            admission_policy=_path(env, "ADMISSION_POLICY"),
            tuf_keys_dir=_path(env, "TUF_KEYS_DIR"),
            tuf_root_keys_dir=_path(env, "TUF_ROOT_KEYS_DIR"),
            tuf_timestamp_expiry_seconds=_int(env, "TUF_TIMESTAMP_EXPIRY_SECONDS", 24 * 3600),
            tuf_snapshot_expiry_seconds=_int(env, "TUF_SNAPSHOT_EXPIRY_SECONDS", 7 * 24 * 3600),
            tuf_targets_expiry_seconds=_int(env, "TUF_TARGETS_EXPIRY_SECONDS", 90 * 24 * 3600),
            tuf_root_expiry_seconds=_int(env, "TUF_ROOT_EXPIRY_SECONDS", 365 * 24 * 3600),
            tuf_bin_threshold=_int(env, "TUF_BIN_THRESHOLD", 2048),
            tuf_targets_per_bin=_int(env, "TUF_TARGETS_PER_BIN", 256),
            reprint_policy=_path(env, "REPRINT_POLICY"),
            c2pa_trust_anchors=_path(env, "C2PA_TRUST_ANCHORS"),
            max_image_bytes=_int(env, "MAX_IMAGE_BYTES", 32 * 1024 * 1024),
            hub_key=_path(env, "HUB_KEY"),
            tlog_key=_path(env, "TLOG_KEY"),
            tlog_origin=env.get(_ENV_PREFIX + "TLOG_ORIGIN") or None,
            tlog_max_entry_bytes=_int(env, "TLOG_MAX_ENTRY_BYTES", 64 * 1024),
            tlog_max_batch=max(1, _int(env, "TLOG_MAX_BATCH", 2000)),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in clean:
            clean["data_dir"] = Path(str(clean["data_dir"]))
        return replace(settings, **clean)  # type: ignore[arg-type]

    def require_data_dir(self) -> Path:
        """The data directory as an absolute path; refuses when it does not exist.

        Commands that work on an existing registry call this (or
        :meth:`require_database`) first: run from another directory, they name
        where they looked instead of creating a second, empty registry in ``./var``.
        """
        directory = self.data_dir.resolve()
        if not directory.is_dir():
            raise ConfigurationError(f"no Custody data directory at {directory}: {_POINT_AT_IT}")
        return directory

    def located(self) -> Settings:
        """These settings with ``data_dir`` replaced by the existing directory, resolved.

        Whatever ``database_url`` says: anything that reads or writes a path under
        the data directory (blobs, TUF keys, the log and hub keys, the SQLite
        database) calls this first, so a server or command started in the wrong
        place refuses instead of creating an empty ``./var`` beside a real database,
        and every derived path stays absolute even if the working directory changes.
        """
        return replace(self, data_dir=self.require_data_dir())

    def require_database(self) -> None:
        """Refuse when the default SQLite database (``<data dir>/custody.db``) is not there.

        A configured ``CUSTODY_DATABASE_URL`` is left to the connection to check.
        """
        if self.database_url:
            return
        database = self.require_data_dir() / "custody.db"
        if not database.is_file():
            raise ConfigurationError(
                f"no Custody database at {database}: {_POINT_AT_IT} "
                "(or run 'custody db upgrade' to create one there)"
            )

    @property
    def blob_dir(self) -> Path:
        """Where the filesystem blob store keeps its files."""
        return self.data_dir / "blobs"

    @property
    def effective_hub_key(self) -> Path:
        """Where the hub's attribution-signing key lives."""
        return self.hub_key or self.data_dir / "keys" / "hub-attribution.pem"

    @property
    def effective_tlog_key(self) -> Path:
        """Where the transparency log's signing key lives (a file of its own)."""
        return self.tlog_key or self.data_dir / "keys" / "tlog.key"

    @property
    def effective_tuf_keys_dir(self) -> Path:
        """Where the TUF private keys live."""
        return self.tuf_keys_dir if self.tuf_keys_dir is not None else self.data_dir / "tuf-keys"

    @property
    def effective_tuf_root_keys_dir(self) -> Path:
        """Where the TUF root keys live (the other keys' directory unless set)."""
        return self.tuf_root_keys_dir or self.effective_tuf_keys_dir

    @property
    def effective_database_url(self) -> str:
        """The database URL actually used (the SQLite default filled in)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'custody.db').resolve()}"
