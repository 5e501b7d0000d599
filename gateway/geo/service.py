"""Geocoding service: BAN/Géoplateforme geocoder, with the commune reference as fallback.

``GeoService.geocode`` takes either free text (``q``) or the INT_L01 address fields
(``inseecode``, ``streetnumber``, ``streetname``, ``city``) and answers a
``GeocodeResult`` ``{lat, lon, insee, city, type, score, source}``:

* ``inseecode`` wins over ``city``; arrondissement codes (75108) resolve, and the geocoder
  is asked with them (BAN files Paris addresses under 751xx); for 75056/69123/13055 any of
  the city's arrondissements is accepted; a delegated/associated commune is searched in the
  commune it now belongs to. Only the digits of ``streetnumber`` are kept.
* A commune without a street is answered from the reference without calling out.
* When the geocoder is offline (empty URL), down, slow, rate-limited or answers garbage, or
  finds nothing credible, the answer is the commune's point (``source: communes``), found
  from the INSEE code, the city name, or (free text) a postcode or a commune name at the
  end of the query; with nothing to go on, a 503 (geocoder failed) or 404 (no match).

Patient addresses (DESIGN §6): geocoder answers are kept in memory only, briefly, under
hashed keys (``gateway.geo.address_cache``); nothing logged or raised here contains them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import httpx

from gateway.errors import InvalidInput, NotFound, UpstreamError, UpstreamUnavailable
from gateway.geo.address_cache import AddressCache
from gateway.geo.communes import (
    PLM_CITIES,
    Commune,
    CommuneIndex,
    UnknownCommune,
    load_communes,
)
from gateway.geo.geocoder import MAX_QUERY_LENGTH, MIN_QUERY_LENGTH, GeocoderClient, GeocoderHit
from gateway.geo.insee import INSEE_CODE, normalise_code
from gateway.settings import Settings
from gateway.upstream import UpstreamClient

log = logging.getLogger("gateway.geo")
#: Geocoder candidates scoring below this are not trusted (the commune is answered instead).
MIN_SCORE = 0.4
_DIGITS = re.compile(r"[0-9]+")
#: BAN feature types → ours ("street" and anything new → "street").
_TYPES = {"housenumber": "address", "locality": "street", "municipality": "city"}


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    lat: float
    lon: float
    insee: str | None
    city: str | None
    #: address, street, city or county.
    type: str
    score: float
    #: "geocoder" or "communes" (offline fallback / commune-only request).
    source: str


@dataclass(slots=True)
class GeoStats:
    geocoder_calls: int = 0
    upstream_errors: int = 0
    #: Answers taken from the commune reference after the geocoder failed or found nothing.
    fallbacks: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _present(value: str | None) -> str | None:
    """Stripped value, or None when absent or blank."""
    return (value.strip() or None) if value is not None else None


class GeoService:
    def __init__(
        self,
        communes: CommuneIndex,
        geocoder: GeocoderClient,
        *,
        ttl_s: float = 600.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.communes = communes
        self.geocoder = geocoder
        self.stats = GeoStats()
        self.cache: AddressCache[GeocodeResult | None] = AddressCache(
            ttl_s=ttl_s, max_entries=max_entries, clock=clock
        )

    @property
    def upstream(self) -> UpstreamClient:
        return self.geocoder.upstream

    async def aclose(self) -> None:
        await self.geocoder.aclose()

    async def geocode(
        self,
        *,
        q: str | None = None,
        inseecode: str | None = None,
        streetnumber: str | None = None,
        streetname: str | None = None,
        city: str | None = None,
    ) -> GeocodeResult:
        """Raises ``InvalidInput`` (naming the parameter), ``UnknownCommune``/``NotFound``,
        or ``UpstreamUnavailable`` when the geocoder failed and no commune is known."""
        structured = [_present(v) for v in (inseecode, streetnumber, streetname, city)]
        if q is not None and any(structured):
            raise InvalidInput(
                "Give either 'q' or the address fields (inseecode, streetnumber, streetname, "
                "city), not both",
                parameter="q",
            )
        if q is not None:
            return await self._free_text(q.strip())
        return await self._address(*structured, insee_given=inseecode is not None)

    async def _address(
        self,
        inseecode: str | None,
        streetnumber: str | None,
        streetname: str | None,
        city: str | None,
        *,
        insee_given: bool,
    ) -> GeocodeResult:
        digits = _DIGITS.search(streetnumber or "")  # "12 bis" → 12, "12-14" → 12
        number = digits.group() if digits else None
        if number and not streetname:
            raise InvalidInput(
                "'streetname' is required with 'streetnumber'", parameter="streetname"
            )
        if inseecode:
            code = normalise_code(inseecode)
            if not INSEE_CODE.match(code):
                raise InvalidInput(
                    "'inseecode' must be a 5-character INSEE commune code (e.g. 92036, 2A004)",
                    parameter="inseecode",
                )
            commune = self.communes.by_insee(code)
            if commune is None:
                raise UnknownCommune(
                    "Unknown INSEE commune code", details={"parameter": "inseecode"}
                )
        elif city:
            homonyms = self.communes.exact(city)  # "Saint-Denis": 93, 974, 11, 30
            commune = homonyms[0] if homonyms else self.communes.find_named(city)
            if commune is None and not streetname:
                raise UnknownCommune("Unknown commune name", details={"parameter": "city"})
            if len(homonyms) > 1 and not streetname:
                return self._commune_result(homonyms[0], 0.5)  # the biggest
            if len(homonyms) > 1:
                commune = None  # the geocoder tells them apart from the street
        elif insee_given or streetname:
            raise InvalidInput("'inseecode' (or 'city') is required", parameter="inseecode")
        else:
            raise InvalidInput(
                "Give 'q', or 'inseecode' (or 'city') with optional 'streetnumber' and "
                "'streetname'",
                parameter="q",
            )
        if not streetname:
            assert commune is not None
            return self._commune_result(commune, 1.0)
        street = f"{number} {streetname}" if number else streetname
        if commune is None:  # an unknown or ambiguous city name: the geocoder decides
            query = f"{street} {city}"
            return await self._geocoded_or(query, None, None, None, "city", text_fallback=True)
        citycode, accepted = self._citycode(commune)
        query = f"{street} {self.communes.city_of(commune).name}"
        return await self._geocoded_or(query, citycode, accepted, commune, "streetname")

    async def _free_text(self, q: str) -> GeocodeResult:
        if not q:
            raise InvalidInput("'q' must not be empty", parameter="q")
        if len(q) > MAX_QUERY_LENGTH:
            raise InvalidInput(f"'q' must be at most {MAX_QUERY_LENGTH} characters", parameter="q")
        departement = self.communes.departement(q) if len(q) <= 3 else None
        if departement is not None:
            return GeocodeResult(
                departement.lat, departement.lon, None, departement.name, "county", 1.0, "communes"
            )
        if len(q) < MIN_QUERY_LENGTH:
            raise InvalidInput(
                f"'q' must be at least {MIN_QUERY_LENGTH} characters (or a département code)",
                parameter="q",
            )
        return await self._geocoded_or(q, None, None, None, "q", text_fallback=True)

    async def _geocoded_or(
        self,
        query: str,
        citycode: str | None,
        accepted: frozenset[str] | None,
        commune: Commune | None,
        parameter: str,
        *,
        text_fallback: bool = False,
    ) -> GeocodeResult:
        scope = commune.insee if commune is not None else "text" if text_fallback else "city"
        key = self.cache.key(scope, query)
        failure: UpstreamError | None = None
        if self.geocoder.enabled:
            try:
                found = await self.cache.get(key, lambda: self._ask(query, citycode, accepted))
            except UpstreamError as exc:
                self.stats.upstream_errors += 1
                failure = exc
                log.debug(
                    "geocoder failed; trying the commune reference", extra={"error": exc.code}
                )
            else:
                if found is not None:
                    return found
        if commune is None and text_fallback:
            guess = self.communes.find_in_text(query)
            if guess is not None:
                commune, score = guess
                self.stats.fallbacks += 1
                return self._commune_result(commune, score)
        if commune is not None:
            self.stats.fallbacks += 1
            return self._commune_result(commune, 1.0)
        if failure is not None or not self.geocoder.enabled:
            name = self.geocoder.upstream.name
            raise UpstreamUnavailable(
                "The geocoder is unavailable and the query names no known commune",
                upstream=name,
                details={"reason": failure.code if failure else "offline"},
            )
        raise NotFound("No place matches the query", details={"parameter": parameter})

    async def _ask(
        self, query: str, citycode: str | None, accepted: frozenset[str] | None
    ) -> GeocodeResult | None:
        self.stats.geocoder_calls += 1
        hits = await self.geocoder.search(query, citycode=citycode)
        for hit in hits:
            if hit.score < MIN_SCORE:
                break
            if accepted is None or hit.citycode in accepted:
                return self._hit_result(hit)
        return None

    def _citycode(self, commune: Commune) -> tuple[str | None, frozenset[str] | None]:
        """BAN ``citycode`` filter for a commune, and the codes its answers may carry."""
        if commune.insee in PLM_CITIES and commune.kind == "COM":
            # BAN files addresses under the arrondissements: filter on the answers instead.
            return None, frozenset({commune.insee, *self.communes.subdivisions_of(commune.insee)})
        if commune.kind in {"COMD", "COMA"} and commune.parent_insee:
            return commune.parent_insee, None
        return commune.insee, None

    def _hit_result(self, hit: GeocoderHit) -> GeocodeResult:
        kind = _TYPES.get(hit.kind, "street")
        score = round(min(1.0, max(0.0, hit.score)), 4)
        return GeocodeResult(hit.lat, hit.lon, hit.citycode, hit.city, kind, score, "geocoder")

    def _commune_result(self, commune: Commune, score: float) -> GeocodeResult:
        """The commune's point. Arrondissements keep their code (as BAN does) under their
        city's name; delegated/associated communes answer their parent's code and name."""
        city = self.communes.city_of(commune)
        insee = commune.insee if commune.kind == "ARM" else city.insee
        return GeocodeResult(commune.lat, commune.lon, insee, city.name, "city", score, "communes")


def build_geo_service(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    communes: CommuneIndex | None = None,
) -> GeoService:
    """The service for ``settings.geocoder`` (``url == ""``: offline, communes only)."""
    started = time.perf_counter()
    index = communes if communes is not None else load_communes()
    log.info(
        "commune reference loaded",
        extra={"codes": len(index), "seconds": round(time.perf_counter() - started, 3)},
    )
    cache = settings.directory_cache
    return GeoService(
        index,
        GeocoderClient(settings.geocoder, transport=transport),
        ttl_s=cache.geocode_ttl_s,
        max_entries=cache.geocode_max_entries,
    )
