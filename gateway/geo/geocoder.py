"""Client of the BAN-compatible geocoder (IGN Géoplateforme ``/geocodage/search``).

Built on ``gateway.upstream.UpstreamClient`` (timeouts, retries with jitter, circuit
breaker, and the 50 req/s rate limit from ``GATEWAY_GEOCODER_RATE``). Answers are GeoJSON
``FeatureCollection``s; each feature's ``properties`` carry ``score`` (0-1), ``type``
(housenumber / street / locality / municipality), ``citycode`` (INSEE code; arrondissement
codes in Paris, Lyon, Marseille), ``city`` and the point is ``geometry.coordinates``
``[lon, lat]``. They are decoded with msgspec into typed structs by
``UpstreamClient.get_json``, which also says what a status means.

Queries are patient addresses: no message, log line or exception raised here ever contains
the query or any part of the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import msgspec

from gateway.settings import UpstreamSettings
from gateway.upstream import UpstreamClient

SEARCH_PATH = "/search"
#: BAN rejects shorter or longer queries with a 400.
MIN_QUERY_LENGTH = 3
MAX_QUERY_LENGTH = 200
_ACCEPT = {"Accept": "application/geo+json, application/json;q=0.9"}


class _Properties(msgspec.Struct):
    score: float
    type: str
    citycode: str | None = None
    city: str | None = None
    label: str | None = None


class _Point(msgspec.Struct):
    coordinates: list[float]


class _Feature(msgspec.Struct):
    geometry: _Point
    properties: _Properties


class _FeatureCollection(msgspec.Struct):
    features: list[_Feature] = []


@dataclass(frozen=True, slots=True)
class GeocoderHit:
    lat: float
    lon: float
    score: float
    #: BAN type: housenumber, street, locality or municipality.
    kind: str
    citycode: str | None
    city: str | None


class GeocoderClient:
    def __init__(
        self,
        settings: UpstreamSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.upstream = UpstreamClient(
            settings, transport=transport, headers={**_ACCEPT, **(headers or {})}
        )

    @property
    def enabled(self) -> bool:
        return self.upstream.settings.enabled

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def search(
        self, q: str, *, citycode: str | None = None, limit: int = 5
    ) -> list[GeocoderHit]:
        """Candidates for ``q``, best first. Raises ``UpstreamError`` when the geocoder is
        offline, down, slow, rate-limited or answers something unusable."""
        params = {"q": q[:MAX_QUERY_LENGTH], "limit": str(limit)}
        if citycode:
            params["citycode"] = citycode
        # No status is "absent": a 4xx means the query was refused (too short, unsupported
        # characters…), an error that says nothing of the geocoder's health; the caller
        # falls back. Error messages never quote the query nor the body (get_json's rule).
        collection = await self.upstream.get_json(
            SEARCH_PATH, params, type=_FeatureCollection, absent=frozenset()
        )
        hits = []
        for feature in collection.features if collection else []:
            coordinates = feature.geometry.coordinates
            if len(coordinates) < 2:
                continue
            lon, lat = coordinates[0], coordinates[1]
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                continue
            props = feature.properties
            hits.append(GeocoderHit(lat, lon, props.score, props.type, props.citycode, props.city))
        hits.sort(key=lambda hit: -hit.score)
        return hits
