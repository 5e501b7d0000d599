"""Settings: one frozen dataclass per concern, read from ``GATEWAY_*`` environment variables.

Every variable is documented in README.md (section "Configuration"). ``Settings.from_env``
validates everything up front so a typo fails at start-up with a message naming the
variable, never later on a request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

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
#: The Annuaire Santé API serves at most this many resources a page.
MAX_ANNUAIRE_PAGE_SIZE = 200


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """An environment variable holds a value the gateway cannot use."""


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str
    minimum: float
    clean: Callable[[str], Any] | None


_ENV = "gateway_env"
_KEEP = object()
D = TypeVar("D")


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def read(self, defaults: D, prefix: str = "") -> D:
        """``defaults`` with every field whose variable is set replaced by its value;
        nested settings are read the same way (an upstream's under ``GATEWAY_<NAME>``)."""
        changes: dict[str, Any] = {}
        for spec in fields(defaults):  # type: ignore[arg-type]
            value = getattr(defaults, spec.name)
            variable: _Variable | None = spec.metadata.get(_ENV)
            if variable is None:
                if isinstance(value, UpstreamSettings):
                    changes[spec.name] = self.read(value, f"GATEWAY_{value.name.upper()}")
                elif is_dataclass(value):
                    changes[spec.name] = self.read(value, prefix)
                continue
            name = prefix + variable.name if variable.name.startswith("_") else variable.name
            raw = self._environ.get(name)
            parsed = _KEEP if raw is None else self._parse(name, raw, spec.type, variable)
            if parsed is not _KEEP:
                changes[spec.name] = parsed
        return replace(defaults, **changes)  # type: ignore[type-var]

    def names(self, defaults: object, prefix: str = "") -> list[str]:
        """Every variable ``read`` looks at, in field order."""
        found: list[str] = []
        for spec in fields(defaults):  # type: ignore[arg-type]
            value = getattr(defaults, spec.name)
            variable: _Variable | None = spec.metadata.get(_ENV)
            if variable is not None:
                found.append(
                    variable.name if not variable.name.startswith("_") else prefix + variable.name
                )
            elif isinstance(value, UpstreamSettings):
                found.extend(self.names(value, f"GATEWAY_{value.name.upper()}"))
            elif is_dataclass(value):
                found.extend(self.names(value, prefix))
        return found

    @staticmethod
    def _parse(name: str, raw: str, kind: Any, variable: _Variable) -> Any:
        """The value of ``raw`` (``_KEEP``: blank, keep the default)."""
        text = raw.strip()
        if variable.clean is not None:
            return variable.clean(text)
        if kind == "str":
            return text
        if kind == "Path | None":
            return Path(text).expanduser() if text else None
        if text == "":
            return _KEEP
        if kind == "Path":
            return Path(text).expanduser()
        if kind == "bool":
            return _flag(name, raw)
        try:
            number = int(text) if kind == "int" else float(text)
        except ValueError:
            noun = "an integer" if kind == "int" else "a number"
            raise ConfigError(f"{name}={raw!r} is not {noun}") from None
        if number < variable.minimum:
            raise ConfigError(f"{name}={raw!r} must be >= {variable.minimum:g}")
        return number


def _flag(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env(name: str, *, minimum: float = 0.0, clean: Callable[[str], Any] | None = None) -> Any:
    """Field metadata: the variable a setting is read from (a suffix for upstreams, whose
    prefix is ``GATEWAY_<NAME>``), its minimum, and how its text is cleaned. The default
    is the field's own: each default is written once."""
    return {_ENV: _Variable(name, minimum, clean)}


def _upper(value: str) -> str:
    return value.upper()


def _url(value: str) -> str:
    return value.rstrip("/")


def _origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in value.split(",") if o.strip())


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = field(default="127.0.0.1", metadata=env("GATEWAY_HOST"))
    port: int = field(default=8000, metadata=env("GATEWAY_PORT", minimum=1))
    workers: int = field(default=1, metadata=env("GATEWAY_WORKERS", minimum=1))
    access_log: bool = field(default=True, metadata=env("GATEWAY_ACCESS_LOG"))
    log_level: str = field(default="INFO", metadata=env("GATEWAY_LOG_LEVEL", clean=_upper))


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    """Resilience knobs shared by every upstream client; ``url == ""`` means offline.

    Read from ``GATEWAY_<NAME>_URL``, ``_CONNECT_TIMEOUT``… (``upstream_from_env``)."""

    name: str
    url: str = field(metadata=env("_URL", clean=_url))
    connect_timeout_s: float = field(default=2.0, metadata=env("_CONNECT_TIMEOUT"))
    read_timeout_s: float = field(default=5.0, metadata=env("_READ_TIMEOUT"))
    #: Upper bound for one logical call, retries included.
    budget_s: float = field(default=8.0, metadata=env("_BUDGET"))
    retries: int = field(default=2, metadata=env("_RETRIES"))
    breaker_failures: int = field(default=5, metadata=env("_BREAKER_FAILURES", minimum=1))
    breaker_reset_s: float = field(default=30.0, metadata=env("_BREAKER_RESET"))
    rate_per_s: float = field(default=20.0, metadata=env("_RATE", minimum=0.1))

    @property
    def enabled(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True, slots=True)
class AnnuaireSettings:
    """API Annuaire Santé (FHIR v2): header ``ESANTE-API-KEY``; 17 calls/s per application."""

    upstream: UpstreamSettings = field(
        default_factory=lambda: UpstreamSettings("annuaire", DEFAULT_ANNUAIRE_URL, rate_per_s=17.0)
    )
    api_key: str = field(default="", metadata=env("GATEWAY_ANNUAIRE_API_KEY"))
    page_size: int = field(default=50, metadata=env("GATEWAY_ANNUAIRE_PAGE_SIZE", minimum=1))


@dataclass(frozen=True, slots=True)
class RorSettings:
    """ROR FHIR API: OAuth2 client credentials plus the four ``Ror-*`` profile headers."""

    upstream: UpstreamSettings = field(
        default_factory=lambda: UpstreamSettings("ror", DEFAULT_ROR_URL)
    )
    token_url: str = field(default=DEFAULT_ROR_TOKEN_URL, metadata=env("GATEWAY_ROR_TOKEN_URL"))
    client_id: str = field(default="", metadata=env("GATEWAY_ROR_CLIENT_ID"))
    client_secret: str = field(default="", metadata=env("GATEWAY_ROR_CLIENT_SECRET"))
    profile_code: str = field(default="", metadata=env("GATEWAY_ROR_PROFIL_UTILISATEUR_CODE"))
    profile_system: str = field(default="", metadata=env("GATEWAY_ROR_PROFIL_UTILISATEUR_SYSTEM"))
    role_code: str = field(default="", metadata=env("GATEWAY_ROR_ROLE_METIER_CODE"))
    role_system: str = field(default="", metadata=env("GATEWAY_ROR_ROLE_METIER_SYSTEM"))
    #: Optional mTLS client certificate and key (PEM files).
    client_cert: Path | None = field(default=None, metadata=env("GATEWAY_ROR_CLIENT_CERT"))
    client_key: Path | None = field(default=None, metadata=env("GATEWAY_ROR_CLIENT_KEY"))


@dataclass(frozen=True, slots=True)
class DirectoryCacheSettings:
    card_soft_ttl_s: float = field(default=3600.0, metadata=env("GATEWAY_CARD_SOFT_TTL"))
    card_hard_ttl_s: float = field(default=86_400.0, metadata=env("GATEWAY_CARD_HARD_TTL"))
    #: Patient geocoding results: memory only, hashed keys, short-lived.
    geocode_ttl_s: float = field(default=600.0, metadata=env("GATEWAY_GEOCODE_TTL"))
    geocode_max_entries: int = field(
        default=10_000, metadata=env("GATEWAY_GEOCODE_MAX_ENTRIES", minimum=1)
    )


@dataclass(frozen=True, slots=True)
class TerminologySettings:
    #: The most codes one ``$expand`` answer may hold; a larger expansion without
    #: ``count`` is refused (``too-costly``): the client pages it or filters it (a larger
    #: ``count`` is cut to this).
    max_expansion: int = field(
        default=50_000, metadata=env("GATEWAY_TERMINOLOGY_MAX_EXPANSION", minimum=1)
    )


@dataclass(frozen=True, slots=True)
class CacheSettings:
    max_entries: int = field(default=10_000, metadata=env("GATEWAY_CACHE_MAX_ENTRIES", minimum=1))
    max_bytes: int = field(
        default=256 * 1024 * 1024, metadata=env("GATEWAY_CACHE_MAX_BYTES", minimum=1024)
    )
    terminology_soft_ttl_s: float = field(
        default=3600.0, metadata=env("GATEWAY_TERMINOLOGY_SOFT_TTL")
    )
    terminology_hard_ttl_s: float = field(
        default=86_400.0, metadata=env("GATEWAY_TERMINOLOGY_HARD_TTL")
    )
    negative_ttl_s: float = field(default=60.0, metadata=env("GATEWAY_NEGATIVE_TTL"))
    #: How long past its hard TTL an entry may still be served when the upstream fails.
    stale_if_error_s: float = field(default=30 * 86_400.0, metadata=env("GATEWAY_STALE_IF_ERROR"))


@dataclass(frozen=True, slots=True)
class SnapshotSettings:
    directory: Path = field(default=DEMO_SNAPSHOT_DIR, metadata=env("GATEWAY_SNAPSHOT_DIR"))

    def served(self) -> Path:
        """The directory a service reads at start; ``ConfigError`` when it cannot be (the
        sync commands may create it, so only serving checks)."""
        if not self.directory.is_dir():
            what = "does not exist" if not self.directory.exists() else "is not a directory"
            raise ConfigError(f"GATEWAY_SNAPSHOT_DIR={str(self.directory)!r} {what}")
        return self.directory


@dataclass(frozen=True, slots=True)
class MappingsSettings:
    directory: Path = field(default=DEFAULT_MAPPINGS_DIR, metadata=env("GATEWAY_MAPPINGS_DIR"))


@dataclass(frozen=True, slots=True)
class SearchSettings:
    #: The SAS search page the INT_L01 launch links point to.
    sas_search_url: str = field(
        default=DEFAULT_SAS_SEARCH_URL, metadata=env("GATEWAY_SAS_SEARCH_URL")
    )
    #: Fewer results than this within the radius → the radius is enlarged once.
    min_results: int = field(default=5, metadata=env("GATEWAY_SEARCH_MIN_RESULTS"))
    #: Radius (km) when the département has no default (absent from the radius table).
    fallback_radius_km: float = field(
        default=10.0, metadata=env("GATEWAY_SEARCH_FALLBACK_RADIUS_KM", minimum=0.1)
    )


@dataclass(frozen=True, slots=True)
class LocationsSettings:
    """The practice-location index: its hot swap and ``gateway sync locations``."""

    #: How often (s) the running gateway looks for a new manifest; 0 = never (reload only).
    poll_s: float = field(default=60.0, metadata=env("GATEWAY_LOCATIONS_POLL", minimum=0.0))
    #: Addresses per call to the geocoder's CSV endpoint.
    geocode_batch: int = field(
        default=5000, metadata=env("GATEWAY_LOCATIONS_GEOCODE_BATCH", minimum=1)
    )
    #: Below this score (0..1) an address is placed at its commune's point.
    geocode_min_score: float = field(
        default=0.5, metadata=env("GATEWAY_LOCATIONS_GEOCODE_MIN_SCORE", minimum=0.0)
    )


@dataclass(frozen=True, slots=True)
class AvailabilitySettings:
    """Free slots read from agenda software (sources: ``mappings/agenda_sources.csv``)."""

    #: Seconds between two refreshes of a source.
    interval_s: float = field(
        default=300.0, metadata=env("GATEWAY_AVAILABILITY_INTERVAL", minimum=1.0)
    )
    #: A failing source's last slots are shown (marked stale) this long, then "unknown".
    stale_s: float = field(default=1800.0, metadata=env("GATEWAY_AVAILABILITY_STALE", minimum=1.0))
    #: Batches of one source in flight at once (within its rate limit).
    concurrency: int = field(default=4, metadata=env("GATEWAY_AVAILABILITY_CONCURRENCY", minimum=1))


@dataclass(frozen=True, slots=True)
class SharedCacheSettings:
    #: ``redis://host:6379/0`` (Valkey or Redis); empty = no shared tier (the default).
    redis_url: str = field(default="", metadata=env("GATEWAY_REDIS_URL"))
    #: Short: the shared tier absorbs bursts across replicas; freshness stays with each
    #: replica's soft/hard TTLs (a refresh may read an entry this old).
    ttl_s: float = field(default=300.0, metadata=env("GATEWAY_REDIS_TTL", minimum=1.0))
    #: Key and channel prefix: replicas of one deployment share it.
    prefix: str = field(default="sasgw", metadata=env("GATEWAY_REDIS_PREFIX"))
    #: Every replica compares its versions (mappings, purges) with Valkey's this often and
    #: retries announcements that failed.
    reconcile_s: float = field(default=5.0, metadata=env("GATEWAY_REDIS_RECONCILE", minimum=0.1))


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    #: ``<role> sha256:<hex> <label>`` per line; None = no keys: the service runs open.
    api_keys_file: Path | None = field(default=None, metadata=env("GATEWAY_API_KEYS_FILE"))
    #: Whether /health/*, /metrics and the API docs (/schema) need no key.
    public_ops: bool = field(default=True, metadata=env("GATEWAY_PUBLIC_OPS"))
    #: Browser origins allowed by CORS (the search front end); empty = no CORS headers.
    cors_origins: tuple[str, ...] = field(
        default=(), metadata=env("GATEWAY_CORS_ORIGINS", clean=_origins)
    )
    max_body_bytes: int = field(
        default=1024 * 1024, metadata=env("GATEWAY_MAX_BODY_BYTES", minimum=1024)
    )
    #: Requests per second each API key may make (a burst of as many is allowed).
    key_rate_per_s: float = field(default=100.0, metadata=env("GATEWAY_KEY_RATE", minimum=0.1))


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The console under ``/console/`` (static pages; its map draws bundled outlines)."""

    #: Map tiles drawn under the outlines, e.g. ``https://tiles.example/{z}/{x}/{y}.png``;
    #: empty (the default): no tiles, nothing fetched beyond the gateway.
    tiles_url: str = field(default="", metadata=env("GATEWAY_CONSOLE_TILES_URL"))
    #: The attribution the tiles' licence requires, shown on the map.
    tiles_attribution: str = field(default="", metadata=env("GATEWAY_CONSOLE_TILES_ATTRIBUTION"))


@dataclass(frozen=True, slots=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    smt: UpstreamSettings = field(default_factory=lambda: UpstreamSettings("smt", DEFAULT_SMT_URL))
    terminology: TerminologySettings = field(default_factory=TerminologySettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    snapshot: SnapshotSettings = field(default_factory=SnapshotSettings)
    mappings: MappingsSettings = field(default_factory=MappingsSettings)
    annuaire: AnnuaireSettings = field(default_factory=AnnuaireSettings)
    ror: RorSettings = field(default_factory=RorSettings)
    geocoder: UpstreamSettings = field(
        default_factory=lambda: UpstreamSettings(
            "geocoder", DEFAULT_GEOCODER_URL, rate_per_s=50.0, budget_s=2.0
        )
    )
    directory_cache: DirectoryCacheSettings = field(default_factory=DirectoryCacheSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    locations: LocationsSettings = field(default_factory=LocationsSettings)
    availability: AvailabilitySettings = field(default_factory=AvailabilitySettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    shared_cache: SharedCacheSettings = field(default_factory=SharedCacheSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Every setting from its ``GATEWAY_*`` variable, else its default; validated."""
        reader = _Env(os.environ if environ is None else environ)
        return reader.read(cls()).validated()

    @classmethod
    def variables(cls) -> list[str]:
        """The name of every ``GATEWAY_*`` variable the settings are read from."""
        return _Env({}).names(cls())

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
        if self.annuaire.page_size > MAX_ANNUAIRE_PAGE_SIZE:
            raise ConfigError(
                f"GATEWAY_ANNUAIRE_PAGE_SIZE={self.annuaire.page_size} is above "
                f"{MAX_ANNUAIRE_PAGE_SIZE}, the largest page the Annuaire Santé serves"
            )
        for origin in self.security.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ConfigError(f"GATEWAY_CORS_ORIGINS: {origin!r} is not an http(s) origin")
        if not self.search.sas_search_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"GATEWAY_SAS_SEARCH_URL={self.search.sas_search_url!r} must be an http(s) URL"
            )
        tiles = self.console.tiles_url
        if tiles and not (
            tiles.startswith(("http://", "https://", "/"))
            and all(part in tiles for part in ("{z}", "{x}", "{y}"))
        ):
            raise ConfigError(
                f"GATEWAY_CONSOLE_TILES_URL={tiles!r} must be an http(s) URL (or a path on "
                "this server) with {z}, {x} and {y}, or empty"
            )
        for upstream in (self.smt, self.annuaire.upstream, self.ror.upstream, self.geocoder):
            if upstream.url and not upstream.url.startswith(("http://", "https://")):
                variable = f"GATEWAY_{upstream.name.upper()}_URL"
                raise ConfigError(f"{variable}={upstream.url!r} must be an http(s) URL or empty")
        return self
