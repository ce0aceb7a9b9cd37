"""Typed settings of the registry, read from the environment by the factory.

Nothing here runs at import: :meth:`Settings.from_env` is called by
``create_app()`` or the CLI, so tests build apps with whatever settings they need.

:class:`Settings` holds one frozen part per concern (``settings.database.url``,
``settings.tuf.keys_dir``, ...). Each field of a part names its ``CUSTODY_*``
variable and its default in one place (:func:`_env`); unset or empty variables
keep the default. Paths derived from the data directory are properties of
:class:`Settings`, since they combine it with a part.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

from registry.errors import ConfigurationError
from registry.naming import DEFAULT_VERSION_PATTERN

_ENV_PREFIX = "CUSTODY_"
_POINT_AT_IT = f"pass --data-dir or set {_ENV_PREFIX}DATA_DIR to the registry's data directory"

T = TypeVar("T")
#: Turns a variable's raw text into its value: ``parse(variable name, raw text)``.
Parser = Callable[[str, str], T]


def _integer(variable: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{variable} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigurationError(f"{variable} must not be negative, got {value}")
    return value


def _at_least_one(variable: str, raw: str) -> int:
    return max(1, _integer(variable, raw))


def _boolean(variable: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{variable} must be a boolean, got {raw!r}")


def _text(_variable: str, raw: str) -> str:
    return raw


def _path(_variable: str, raw: str) -> Path:
    return Path(raw)


def _storage_location(variable: str, raw: str) -> str:
    """``file``, a directory, ``file:///directory`` or ``s3://bucket[/prefix]``."""
    if raw == "file":
        return raw
    parts = urlsplit(raw)
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise ConfigurationError(
                f"{variable} must be s3://bucket or s3://bucket/prefix, got {raw!r}"
            )
    elif parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ConfigurationError(
                f"{variable} must be file:///absolute/directory for a local directory, got {raw!r}"
            )
    elif parts.scheme:
        raise ConfigurationError(
            f"{variable} must be file (<data dir>/blobs), a directory, file:///directory "
            f"or s3://bucket/prefix, got {raw!r}"
        )
    return raw


def _url(variable: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{variable} must be an http:// or https:// URL, got {raw!r}")
    return raw


def _env(name: str, default: T, parse: Parser[T]) -> T:
    """A field read from ``CUSTODY_<name>``; ``default`` when unset or empty."""
    return field(default=default, metadata={"env": _ENV_PREFIX + name, "parse": parse})


P = TypeVar("P", bound="_Part")


def _part(kind: type[P]) -> P:
    """A field holding a whole part, read from the environment with its owner."""
    return field(default_factory=kind, metadata={"part": kind})


class _Part:
    """A group of settings whose fields are declared with :func:`_env` or :func:`_part`."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return _read(cls, env)


def _read(kind: type[P], env: Mapping[str, str]) -> P:
    values: dict[str, Any] = {}
    for spec in fields(kind):
        part: type[_Part] | None = spec.metadata.get("part")
        if part is not None:
            values[spec.name] = _read(part, env)
            continue
        variable: str = spec.metadata["env"]
        raw = env.get(variable)
        if raw:
            values[spec.name] = spec.metadata["parse"](variable, raw)
    return kind(**values)


@dataclass(frozen=True, slots=True)
class HttpSettings(_Part):
    """Where ``custody serve`` listens, and the API's body limit."""

    host: str = _env("HOST", "127.0.0.1", _text)
    port: int = _env("PORT", 8080, _integer)
    #: Largest JSON body accepted on the lifecycle API.
    max_api_body_bytes: int = _env("MAX_API_BODY_BYTES", 1024 * 1024, _integer)


@dataclass(frozen=True, slots=True)
class DatabaseSettings(_Part):
    """The metadata database."""

    #: SQLAlchemy URL; ``None`` means SQLite at ``<data_dir>/custody.db``.
    url: str | None = _env("DATABASE_URL", None, _text)
    #: Log SQL statements (development only).
    echo_sql: bool = _env("ECHO_SQL", False, _boolean)


#: SigV4's ceiling on a presigned URL's lifetime (7 days).
MAX_S3_REDIRECT_SECONDS = 7 * 24 * 3600

#: 1 GiB: room for the pushes in flight when readiness turns, and for the database to grow.
DEFAULT_MIN_FREE_BYTES = 1024**3


@dataclass(frozen=True, slots=True)
class StorageSettings(_Part):
    """The blob store."""

    #: Where blob bytes live: ``file`` (``<data_dir>/blobs``), a directory,
    #: ``file:///directory``, or ``s3://bucket[/prefix]`` on an S3-compatible store.
    location: str = _env("STORAGE", "file", _storage_location)
    #: ``/readyz`` reports the filesystem store not ready below this much free space (0: never).
    min_free_bytes: int = _env("MIN_FREE_BYTES", DEFAULT_MIN_FREE_BYTES, _integer)
    #: The S3 API's address (SeaweedFS, MinIO, ...); unset: AWS itself.
    s3_endpoint_url: str | None = _env("S3_ENDPOINT_URL", None, _url)
    #: S3 credentials. Unset, boto3 looks where it always does (``AWS_ACCESS_KEY_ID`` and
    #: ``AWS_SECRET_ACCESS_KEY``, ``~/.aws``, an instance role). Never logged or shown.
    s3_access_key_id: str | None = field(
        default=None, repr=False, metadata={"env": "CUSTODY_S3_ACCESS_KEY_ID", "parse": _text}
    )
    s3_secret_access_key: str | None = field(
        default=None,
        repr=False,
        metadata={"env": "CUSTODY_S3_SECRET_ACCESS_KEY", "parse": _text},
    )
    #: The bucket's region; unset: us-east-1 (what S3-compatible servers expect).
    s3_region: str | None = _env("S3_REGION", None, _text)
    #: Blob GETs (after the pull check) answer 307 to a presigned S3 URL valid this long; 0: off.
    s3_redirect_seconds: int = _env("S3_REDIRECT_SECONDS", 0, _integer)

    def __post_init__(self) -> None:
        if self.s3_redirect_seconds > MAX_S3_REDIRECT_SECONDS:
            raise ConfigurationError(
                f"{_ENV_PREFIX}S3_REDIRECT_SECONDS must be at most {MAX_S3_REDIRECT_SECONDS} "
                f"(a SigV4 presigned URL lives 7 days at most), got {self.s3_redirect_seconds}"
            )
        if self.s3_redirect_seconds and not self.is_s3:
            raise ConfigurationError(
                f"{_ENV_PREFIX}S3_REDIRECT_SECONDS is set but {_ENV_PREFIX}STORAGE is not "
                "s3://...: only an S3 store can hand out presigned URLs"
            )
        # Half-given credentials: one without the other is always a mistake.
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            given, missing = (
                ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY")
                if self.s3_access_key_id
                else ("SECRET_ACCESS_KEY", "ACCESS_KEY_ID")
            )
            raise ConfigurationError(
                f"{_ENV_PREFIX}S3_{given} is set but {_ENV_PREFIX}S3_{missing} is not: "
                "set both, or neither to use boto3's usual sources (AWS_*)"
            )

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")

    def describe(self, location: str | Path) -> str:
        """The backend at ``location`` in one line, for the start-up log (no credentials)."""
        if self.is_s3:
            endpoint = self.s3_endpoint_url or "AWS"
            credentials = "CUSTODY_S3_*" if self.s3_access_key_id else "boto3's defaults"
            redirect = (
                f"; blob GETs redirected to presigned URLs valid {self.s3_redirect_seconds} s"
                if self.s3_redirect_seconds
                else ""
            )
            return (
                f"storage: S3 {location} at {endpoint} (credentials from {credentials}){redirect}"
            )
        return f"storage: filesystem {location}"


@dataclass(frozen=True, slots=True)
class OciSettings(_Part):
    """What pushes may carry, and how tags are read."""

    #: Largest manifest accepted (OCI recommends registries accept at least 4 MiB).
    max_manifest_bytes: int = _env("MAX_MANIFEST_BYTES", 4 * 1024 * 1024, _integer)
    #: Largest SBOM accepted (CycloneDX JSON), as a referrer or through the API.
    max_sbom_bytes: int = _env("MAX_SBOM_BYTES", 16 * 1024 * 1024, _integer)
    #: Largest blob accepted; 0 means no limit beyond the disk.
    max_blob_bytes: int = _env("MAX_BLOB_BYTES", 0, _integer)
    #: Tags matching this pattern are versions (immutable); others are aliases.
    version_pattern: str = _env("VERSION_PATTERN", DEFAULT_VERSION_PATTERN, _text)
    #: How long a manifest looked up by tag is served from memory.
    manifest_cache_seconds: float = _env("MANIFEST_CACHE_SECONDS", 1.0, _integer)
    #: An upload with no byte received for this long is abandoned: its session row and
    #: its bytes (temporary files, S3 session objects and multipart uploads) are purged.
    upload_expiry_seconds: int = _env("UPLOAD_EXPIRY_SECONDS", 24 * 3600, _at_least_one)
    #: How often the server looks for abandoned uploads (0: only at start-up).
    upload_sweep_seconds: int = _env("UPLOAD_SWEEP_SECONDS", 3600, _integer)


@dataclass(frozen=True, slots=True)
class AuthSettings(_Part):
    """API tokens, OCI access tokens, and how long a checked credential is trusted."""

    #: Default lifetime of a token created without ``--expires-in`` (seconds).
    default_token_ttl_seconds: int = _env("DEFAULT_TOKEN_TTL_SECONDS", 90 * 24 * 3600, _integer)
    #: Lifetime of OCI access tokens from the token endpoint (seconds).
    access_token_ttl_seconds: int = _env("ACCESS_TOKEN_TTL_SECONDS", 300, _integer)
    #: How long a verified credential is trusted without asking the database again.
    cache_seconds: float = _env("AUTH_CACHE_SECONDS", 5.0, _integer)


@dataclass(frozen=True, slots=True)
class PolicySettings(_Part):
    """The policy files verification and promotion follow."""

    #: Trust policy (YAML) the registry verifies signatures against; unset: none is trusted.
    trust: Path | None = _env("TRUST_POLICY", None, _path)
    #: Admission and promotion policy (YAML); unset: the default admission rules.
    admission: Path | None = _env("ADMISSION_POLICY", None, _path)


@dataclass(frozen=True, slots=True)
class TufSettings(_Part):
    """The TUF repository: key locations, metadata lifetimes, hashed bins."""

    #: Where the TUF private keys live (files, mode 0600); ``None``: ``<data_dir>/tuf-keys``.
    keys_dir: Path | None = _env("TUF_KEYS_DIR", None, _path)
    #: Where the TUF root keys live; ``None``: with the other keys. The server never
    #: reads them (only ``custody tuf`` does), so they can stay on offline media.
    root_keys_dir: Path | None = _env("TUF_ROOT_KEYS_DIR", None, _path)
    #: Lifetimes of TUF metadata (seconds); each is re-signed once half its lifetime is gone.
    timestamp_expiry_seconds: int = _env("TUF_TIMESTAMP_EXPIRY_SECONDS", 24 * 3600, _integer)
    snapshot_expiry_seconds: int = _env("TUF_SNAPSHOT_EXPIRY_SECONDS", 7 * 24 * 3600, _integer)
    targets_expiry_seconds: int = _env("TUF_TARGETS_EXPIRY_SECONDS", 90 * 24 * 3600, _integer)
    root_expiry_seconds: int = _env("TUF_ROOT_EXPIRY_SECONDS", 365 * 24 * 3600, _integer)
    #: A namespace with more TUF targets than this is split into hashed bins; 0: never.
    bin_threshold: int = _env("TUF_BIN_THRESHOLD", 2048, _integer)
    #: How many targets a hashed bin should hold at most (sets the number of bins).
    targets_per_bin: int = _env("TUF_TARGETS_PER_BIN", 256, _integer)


@dataclass(frozen=True, slots=True)
class HubSettings(_Part):
    """The reprint hub."""

    #: The reprint policy (YAML); unset leaves the hub switched off.
    reprint_policy: Path | None = _env("REPRINT_POLICY", None, _path)
    #: PEM bundle of the C2PA signing anchors it trusts; unset refuses C2PA.
    c2pa_trust_anchors: Path | None = _env("C2PA_TRUST_ANCHORS", None, _path)
    #: Largest image accepted for registration or reprint.
    max_image_bytes: int = _env("MAX_IMAGE_BYTES", 32 * 1024 * 1024, _integer)
    #: PEM key signing attribution statements (made on first start if missing).
    key: Path | None = _env("HUB_KEY", None, _path)


@dataclass(frozen=True, slots=True)
class LogSettings(_Part):
    """The transparency log."""

    #: Its own Ed25519 key file; ``None``: ``<data_dir>/keys/tlog.key``.
    key: Path | None = _env("TLOG_KEY", None, _path)
    #: Its name (checkpoint origin) when the key is created; fixed after.
    origin: str | None = _env("TLOG_ORIGIN", None, _text)
    #: Largest entry accepted (the hub logs hashes, not inputs).
    max_entry_bytes: int = _env("TLOG_MAX_ENTRY_BYTES", 64 * 1024, _integer)
    #: Most entries committed in one transaction.
    max_batch: int = _env("TLOG_MAX_BATCH", 2000, _at_least_one)


def _limit_store(variable: str, raw: str) -> str:
    """``memory`` (this process) or ``redis://[user:password@]host[:port][/db]``."""
    if raw == "memory":
        return raw
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigurationError(
            f"{variable} must be memory or redis://host:port/db (rediss:// for TLS), "
            f"got {_without_password(raw)!r}"
        )
    return raw


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


@dataclass(frozen=True, slots=True)
class LimitSettings(_Part):
    """Rate limits (registry.limits): requests per second per API token (authenticated
    callers) or per client address (everyone else), reads (GET, HEAD, OPTIONS) and writes
    apart; failed authentications per address; bytes of blobs downloaded per token.
    0 turns a limit off."""

    #: Where the counters live: ``memory`` (this process only) or ``redis://host:port/db``
    #: (shared by every replica pointing at it).
    store: str = field(
        default="memory",
        repr=False,  # a Redis URL may carry a password
        metadata={"env": "CUSTODY_RATE_LIMIT_STORE", "parse": _limit_store},
    )
    #: Prefix of the counters' keys in the store: replicas of one registry share it.
    key_prefix: str = _env("RATE_LIMIT_PREFIX", "custody", _text)
    #: Reads per second one API token (with its OCI access tokens) may make.
    token_reads_per_second: int = _env("RATE_LIMIT_TOKEN_READS", 10_000, _integer)
    #: Writes per second one API token may make.
    token_writes_per_second: int = _env("RATE_LIMIT_TOKEN_WRITES", 1_000, _integer)
    #: Reads per second from one client address without a valid token.
    address_reads_per_second: int = _env("RATE_LIMIT_ADDRESS_READS", 10_000, _integer)
    #: Writes per second from one client address without a valid token.
    address_writes_per_second: int = _env("RATE_LIMIT_ADDRESS_WRITES", 1_000, _integer)
    #: Failed authentications from one address within the window before it is blocked.
    auth_failures: int = _env("RATE_LIMIT_AUTH_FAILURES", 50, _integer)
    #: The window failed authentications are counted over (seconds).
    auth_failure_window_seconds: int = _env(
        "RATE_LIMIT_AUTH_FAILURE_WINDOW_SECONDS", 60, _at_least_one
    )
    #: How long a blocked address may not present credentials (answered 429; seconds).
    auth_block_seconds: int = _env("RATE_LIMIT_AUTH_BLOCK_SECONDS", 300, _at_least_one)
    #: Bytes of blobs one API token (or one address, anonymously) may download per period.
    download_bytes: int = _env("RATE_LIMIT_DOWNLOAD_BYTES", 1024**4, _integer)
    #: The period of the download budget (seconds).
    download_period_seconds: int = _env("RATE_LIMIT_DOWNLOAD_PERIOD_SECONDS", 3600, _at_least_one)

    @property
    def limits_requests(self) -> bool:
        """Whether any per-request limit is on (the middleware is installed only then)."""
        return any(
            (
                self.token_reads_per_second,
                self.token_writes_per_second,
                self.address_reads_per_second,
                self.address_writes_per_second,
                self.auth_failures,
            )
        )

    def describe(self) -> str:
        """The limits in one line, for the start-up log (no password)."""
        where = "memory (this process)" if self.store == "memory" else _without_password(self.store)
        return (
            f"rate limits in {where}: per token {self.token_reads_per_second} reads/s, "
            f"{self.token_writes_per_second} writes/s; per address "
            f"{self.address_reads_per_second} reads/s, {self.address_writes_per_second} writes/s; "
            f"{self.auth_failures} failed authentications per "
            f"{self.auth_failure_window_seconds} s block an address for "
            f"{self.auth_block_seconds} s; downloads {self.download_bytes} bytes per "
            f"{self.download_period_seconds} s per token (0: off)"
        )


@dataclass(frozen=True, slots=True)
class GcSettings(_Part):
    """Online garbage collection of unreferenced blobs and manifests (registry.gc)."""

    #: Run the background collector in ``custody serve`` (``custody gc`` works either way).
    enabled: bool = _env("GC_ENABLED", True, _boolean)
    #: How long something unreferenced waits before the collector re-checks and removes it.
    delay_seconds: int = _env("GC_DELAY_SECONDS", 24 * 3600, _integer)
    #: Seconds between the background collector's passes.
    interval_seconds: int = _env("GC_INTERVAL_SECONDS", 300, _at_least_one)
    #: Collect manifests no tag, index or kept subject reaches (GitLab's rule); off: Harbor's.
    collect_untagged: bool = _env("GC_COLLECT_UNTAGGED", True, _boolean)


@dataclass(frozen=True, slots=True)
class DemoSettings(_Part):
    """Demo content (registry.demo)."""

    #: Seed the ``demo`` namespace when ``custody serve`` starts on an empty registry with
    #: no policy file configured (``make run`` sets it to 1; off for ``custody serve``).
    enabled: bool = _env("DEMO", False, _boolean)


@dataclass(frozen=True, slots=True)
class Settings(_Part):
    """Everything the registry needs to start. Build with :meth:`from_env`."""

    data_dir: Path = _env("DATA_DIR", Path("var"), _path)
    http: HttpSettings = _part(HttpSettings)
    database: DatabaseSettings = _part(DatabaseSettings)
    storage: StorageSettings = _part(StorageSettings)
    oci: OciSettings = _part(OciSettings)
    auth: AuthSettings = _part(AuthSettings)
    policies: PolicySettings = _part(PolicySettings)
    tuf: TufSettings = _part(TufSettings)
    hub: HubSettings = _part(HubSettings)
    log: LogSettings = _part(LogSettings)
    gc: GcSettings = _part(GcSettings)
    limits: LimitSettings = _part(LimitSettings)
    demo: DemoSettings = _part(DemoSettings)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        data_dir: Path | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> Self:
        """Read ``CUSTODY_*`` variables; the CLI flags given (not ``None``) win."""
        settings = _read(cls, os.environ if env is None else env)
        if data_dir is not None:
            settings = replace(settings, data_dir=Path(data_dir))
        if host is not None:
            settings = replace(settings, http=replace(settings.http, host=host))
        if port is not None:
            settings = replace(settings, http=replace(settings.http, port=port))
        return settings

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

        Whatever the database URL says: anything that reads or writes a path under
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
        if self.database.url:
            return
        database = self.require_data_dir() / "custody.db"
        if not database.is_file():
            raise ConfigurationError(
                f"no Custody database at {database}: {_POINT_AT_IT} "
                "(or run 'custody db upgrade' to create one there)"
            )

    @property
    def blob_dir(self) -> Path:
        """Where the default filesystem blob store keeps its files."""
        return self.data_dir / "blobs"

    @property
    def blob_location(self) -> str | Path:
        """What :func:`registry.storage.open_blob_store` opens: ``CUSTODY_STORAGE``,
        with ``file`` meaning :attr:`blob_dir`."""
        return self.blob_dir if self.storage.location == "file" else self.storage.location

    @property
    def effective_hub_key(self) -> Path:
        """Where the hub's attribution-signing key lives."""
        return self.hub.key or self.data_dir / "keys" / "hub-attribution.pem"

    @property
    def effective_tlog_key(self) -> Path:
        """Where the transparency log's signing key lives (a file of its own)."""
        return self.log.key or self.data_dir / "keys" / "tlog.key"

    @property
    def effective_tuf_keys_dir(self) -> Path:
        """Where the TUF private keys live."""
        return self.tuf.keys_dir if self.tuf.keys_dir is not None else self.data_dir / "tuf-keys"

    @property
    def effective_tuf_root_keys_dir(self) -> Path:
        """Where the TUF root keys live (the other keys' directory unless set)."""
        return self.tuf.root_keys_dir or self.effective_tuf_keys_dir

    @property
    def effective_database_url(self) -> str:
        """The database URL actually used (the SQLite default filled in)."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'custody.db').resolve()}"
