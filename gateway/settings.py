"""Settings: one frozen dataclass per concern, read from ``GATEWAY_*`` environment variables.

Every variable is documented in README.md (section "Configuration"). ``Settings.from_env``
validates everything up front so a typo fails at start-up with a message naming the
variable, never later on a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_SNAPSHOT_DIR = PACKAGE_DIR / "demo" / "snapshot"
DEFAULT_MAPPINGS_DIR = PACKAGE_DIR.parent / "mappings"
DEFAULT_SMT_URL = "https://smt.esante.gouv.fr/fhir"
DEFAULT_ANNUAIRE_URL = "https://gateway.api.esante.gouv.fr/fhir/v2"
DEFAULT_ROR_URL = "https://api-fhir.ror.esante.gouv.fr"
DEFAULT_ROR_TOKEN_URL = (
    "https://auth-api.ror.esante.gouv.fr/auth/realms/ror/protocol/openid-connect/token"
)
DEFAULT_GEOCODER_URL = "https://data.geopf.fr/geocodage"
DEFAULT_SAS_SEARCH_URL = "https://sas.sante.fr/sas/recherche"


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """An environment variable holds a value the gateway cannot use."""


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number") from None
        if value < minimum:
            raise ConfigError(f"{name}={raw!r} must be >= {minimum}")
        return value

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not an integer") from None
        if value < minimum:
            raise ConfigError(f"{name}={raw!r} must be >= {minimum}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")

    def path(self, name: str, default: Path) -> Path:
        raw = self._environ.get(name, "").strip()
        return Path(raw).expanduser() if raw else default

    def optional_path(self, name: str) -> Path | None:
        raw = self._environ.get(name, "").strip()
        return Path(raw).expanduser() if raw else None


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    access_log: bool = True
    log_level: str = "INFO"


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    """Resilience knobs shared by every upstream client; ``url == ""`` means offline."""

    name: str
    url: str
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    #: Upper bound for one logical call, retries included.
    budget_s: float = 8.0
    retries: int = 2
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    rate_per_s: float = 20.0

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class AnnuaireSettings:
    """API Annuaire Santé (FHIR v2): header ``ESANTE-API-KEY``; 17 calls/s per application."""

    upstream: UpstreamSettings
    api_key: str = ""
    page_size: int = 50


@dataclass(frozen=True, slots=True)
class RorSettings:
    """ROR FHIR API: OAuth2 client credentials plus the four ``Ror-*`` profile headers."""

    upstream: UpstreamSettings
    token_url: str = DEFAULT_ROR_TOKEN_URL
    client_id: str = ""
    client_secret: str = ""
    profile_code: str = ""
    profile_system: str = ""
    role_code: str = ""
    role_system: str = ""
    #: Optional mTLS client certificate and key (PEM files).
    client_cert: Path | None = None
    client_key: Path | None = None


@dataclass(frozen=True, slots=True)
class DirectoryCacheSettings:
    card_soft_ttl_s: float = 3600.0
    card_hard_ttl_s: float = 86_400.0
    #: Patient geocoding results: memory only, hashed keys, short-lived.
    geocode_ttl_s: float = 600.0
    geocode_max_entries: int = 10_000


@dataclass(frozen=True, slots=True)
class CacheSettings:
    max_entries: int = 10_000
    max_bytes: int = 256 * 1024 * 1024
    terminology_soft_ttl_s: float = 3600.0
    terminology_hard_ttl_s: float = 86_400.0
    negative_ttl_s: float = 60.0
    #: How long past its hard TTL an entry may still be served when the upstream fails.
    stale_if_error_s: float = 30 * 86_400.0


@dataclass(frozen=True, slots=True)
class SnapshotSettings:
    directory: Path = DEMO_SNAPSHOT_DIR


@dataclass(frozen=True, slots=True)
class MappingsSettings:
    directory: Path = DEFAULT_MAPPINGS_DIR


@dataclass(frozen=True, slots=True)
class SearchSettings:
    #: The SAS search page the INT_L01 launch links point to.
    sas_search_url: str = DEFAULT_SAS_SEARCH_URL
    #: Fewer results than this within the radius → the radius is enlarged once.
    min_results: int = 5
    #: Radius (km) when the département has no default (absent from the radius table).
    fallback_radius_km: float = 10.0


@dataclass(frozen=True, slots=True)
class SharedCacheSettings:
    #: ``redis://host:6379/0`` (Valkey or Redis); empty = no shared tier (the default).
    redis_url: str = ""
    #: Short: the shared tier absorbs bursts across replicas; freshness stays with each
    #: replica's soft/hard TTLs (a refresh may read an entry this old).
    ttl_s: float = 300.0
    #: Key and channel prefix: replicas of one deployment share it.
    prefix: str = "sasgw"


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    #: ``<role> sha256:<hex> <label>`` per line; None = no keys: the service runs open.
    api_keys_file: Path | None = None
    #: Whether /health/*, /metrics and the API docs (/schema) need no key.
    public_ops: bool = True
    #: Browser origins allowed by CORS (the search front end); empty = no CORS headers.
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    #: Requests per second each API key may make (a burst of as many is allowed).
    key_rate_per_s: float = 100.0


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    smt: UpstreamSettings = field(
        default_factory=lambda: UpstreamSettings(name="smt", url=DEFAULT_SMT_URL)
    )
    cache: CacheSettings = field(default_factory=CacheSettings)
    snapshot: SnapshotSettings = field(default_factory=SnapshotSettings)
    mappings: MappingsSettings = field(default_factory=MappingsSettings)
    annuaire: AnnuaireSettings = field(
        default_factory=lambda: AnnuaireSettings(
            UpstreamSettings(name="annuaire", url=DEFAULT_ANNUAIRE_URL, rate_per_s=17.0)
        )
    )
    ror: RorSettings = field(
        default_factory=lambda: RorSettings(UpstreamSettings(name="ror", url=DEFAULT_ROR_URL))
    )
    geocoder: UpstreamSettings = field(
        default_factory=lambda: UpstreamSettings(
            name="geocoder", url=DEFAULT_GEOCODER_URL, rate_per_s=50.0, budget_s=2.0
        )
    )
    directory_cache: DirectoryCacheSettings = field(default_factory=DirectoryCacheSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    shared_cache: SharedCacheSettings = field(default_factory=SharedCacheSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(os.environ if environ is None else environ)
        server = ServerSettings(
            host=env.text("GATEWAY_HOST", "127.0.0.1"),
            port=env.integer("GATEWAY_PORT", 8000, minimum=1),
            workers=env.integer("GATEWAY_WORKERS", 1, minimum=1),
            access_log=env.flag("GATEWAY_ACCESS_LOG", True),
            log_level=env.text("GATEWAY_LOG_LEVEL", "INFO").upper(),
        )
        return cls(
            server=server,
            smt=upstream_from_env(env, "smt", "GATEWAY_SMT", DEFAULT_SMT_URL),
            cache=CacheSettings(
                max_entries=env.integer("GATEWAY_CACHE_MAX_ENTRIES", 10_000, minimum=1),
                max_bytes=env.integer("GATEWAY_CACHE_MAX_BYTES", 256 * 1024 * 1024, minimum=1024),
                terminology_soft_ttl_s=env.number("GATEWAY_TERMINOLOGY_SOFT_TTL", 3600.0),
                terminology_hard_ttl_s=env.number("GATEWAY_TERMINOLOGY_HARD_TTL", 86_400.0),
                negative_ttl_s=env.number("GATEWAY_NEGATIVE_TTL", 60.0),
                stale_if_error_s=env.number("GATEWAY_STALE_IF_ERROR", 30 * 86_400.0),
            ),
            snapshot=SnapshotSettings(env.path("GATEWAY_SNAPSHOT_DIR", DEMO_SNAPSHOT_DIR)),
            mappings=MappingsSettings(env.path("GATEWAY_MAPPINGS_DIR", DEFAULT_MAPPINGS_DIR)),
            annuaire=AnnuaireSettings(
                upstream_from_env(
                    env, "annuaire", "GATEWAY_ANNUAIRE", DEFAULT_ANNUAIRE_URL, rate=17.0
                ),
                api_key=env.text("GATEWAY_ANNUAIRE_API_KEY", ""),
                page_size=env.integer("GATEWAY_ANNUAIRE_PAGE_SIZE", 50, minimum=1),
            ),
            ror=RorSettings(
                upstream_from_env(env, "ror", "GATEWAY_ROR", DEFAULT_ROR_URL),
                token_url=env.text("GATEWAY_ROR_TOKEN_URL", DEFAULT_ROR_TOKEN_URL),
                client_id=env.text("GATEWAY_ROR_CLIENT_ID", ""),
                client_secret=env.text("GATEWAY_ROR_CLIENT_SECRET", ""),
                profile_code=env.text("GATEWAY_ROR_PROFIL_UTILISATEUR_CODE", ""),
                profile_system=env.text("GATEWAY_ROR_PROFIL_UTILISATEUR_SYSTEM", ""),
                role_code=env.text("GATEWAY_ROR_ROLE_METIER_CODE", ""),
                role_system=env.text("GATEWAY_ROR_ROLE_METIER_SYSTEM", ""),
                client_cert=env.optional_path("GATEWAY_ROR_CLIENT_CERT"),
                client_key=env.optional_path("GATEWAY_ROR_CLIENT_KEY"),
            ),
            geocoder=upstream_from_env(
                env, "geocoder", "GATEWAY_GEOCODER", DEFAULT_GEOCODER_URL, rate=50.0, budget=2.0
            ),
            directory_cache=DirectoryCacheSettings(
                card_soft_ttl_s=env.number("GATEWAY_CARD_SOFT_TTL", 3600.0),
                card_hard_ttl_s=env.number("GATEWAY_CARD_HARD_TTL", 86_400.0),
                geocode_ttl_s=env.number("GATEWAY_GEOCODE_TTL", 600.0),
                geocode_max_entries=env.integer("GATEWAY_GEOCODE_MAX_ENTRIES", 10_000, minimum=1),
            ),
            search=SearchSettings(
                sas_search_url=env.text("GATEWAY_SAS_SEARCH_URL", DEFAULT_SAS_SEARCH_URL),
                min_results=env.integer("GATEWAY_SEARCH_MIN_RESULTS", 5),
                fallback_radius_km=env.number(
                    "GATEWAY_SEARCH_FALLBACK_RADIUS_KM", 10.0, minimum=0.1
                ),
            ),
            security=SecuritySettings(
                api_keys_file=env.optional_path("GATEWAY_API_KEYS_FILE"),
                public_ops=env.flag("GATEWAY_PUBLIC_OPS", True),
                cors_origins=tuple(
                    o.strip() for o in env.text("GATEWAY_CORS_ORIGINS", "").split(",") if o.strip()
                ),
                max_body_bytes=env.integer("GATEWAY_MAX_BODY_BYTES", 1024 * 1024, minimum=1024),
                key_rate_per_s=env.number("GATEWAY_KEY_RATE", 100.0, minimum=0.1),
            ),
            shared_cache=SharedCacheSettings(
                redis_url=env.text("GATEWAY_REDIS_URL", ""),
                ttl_s=env.number("GATEWAY_REDIS_TTL", 300.0, minimum=1.0),
                prefix=env.text("GATEWAY_REDIS_PREFIX", "sasgw"),
            ),
        ).validated()

    def validated(self) -> Settings:
        if self.server.log_level not in _LOG_LEVELS:
            raise ConfigError(
                f"GATEWAY_LOG_LEVEL={self.server.log_level!r} must be one of "
                + ", ".join(_LOG_LEVELS)
            )
        if self.cache.terminology_hard_ttl_s < self.cache.terminology_soft_ttl_s:
            raise ConfigError(
                "GATEWAY_TERMINOLOGY_HARD_TTL must be >= GATEWAY_TERMINOLOGY_SOFT_TTL"
            )
        if self.shared_cache.redis_url and not self.shared_cache.redis_url.startswith(
            ("redis://", "rediss://", "unix://", "valkey://")
        ):
            raise ConfigError("GATEWAY_REDIS_URL must be a redis:// (or rediss://) URL or empty")
        for origin in self.security.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ConfigError(f"GATEWAY_CORS_ORIGINS: {origin!r} is not an http(s) origin")
        if not self.search.sas_search_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"GATEWAY_SAS_SEARCH_URL={self.search.sas_search_url!r} must be an http(s) URL"
            )
        for upstream in (self.smt, self.annuaire.upstream, self.ror.upstream, self.geocoder):
            if upstream.url and not upstream.url.startswith(("http://", "https://")):
                variable = f"GATEWAY_{upstream.name.upper()}_URL"
                raise ConfigError(f"{variable}={upstream.url!r} must be an http(s) URL or empty")
        return self


def upstream_from_env(
    env: _Env,
    name: str,
    prefix: str,
    default_url: str,
    *,
    rate: float = 20.0,
    budget: float = 8.0,
) -> UpstreamSettings:
    """Read ``<prefix>_URL``, ``_CONNECT_TIMEOUT``, ``_READ_TIMEOUT``… for one upstream."""
    return UpstreamSettings(
        name=name,
        url=env.text(f"{prefix}_URL", default_url).rstrip("/"),
        connect_timeout_s=env.number(f"{prefix}_CONNECT_TIMEOUT", 2.0),
        read_timeout_s=env.number(f"{prefix}_READ_TIMEOUT", 5.0),
        budget_s=env.number(f"{prefix}_BUDGET", budget),
        retries=env.integer(f"{prefix}_RETRIES", 2),
        breaker_failures=env.integer(f"{prefix}_BREAKER_FAILURES", 5, minimum=1),
        breaker_reset_s=env.number(f"{prefix}_BREAKER_RESET", 30.0),
        rate_per_s=env.number(f"{prefix}_RATE", rate, minimum=0.1),
    )
