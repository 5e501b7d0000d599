"""Batch geocoding of practice addresses (public directory data) with the CSV endpoint.

The Géoplateforme (and the BAN API it replaced) geocodes a CSV file in one call:
``POST {GATEWAY_GEOCODER_URL}/search/csv`` with the file as ``data``, the columns that
make the query (``columns``) and the columns that constrain it (``citycode``,
``postcode``). It answers the same CSV with ``latitude``, ``longitude``, ``result_score``,
``result_type`` and ``result_citycode`` appended. One call per batch of addresses, within
the upstream client's rate limit, instead of one call per address.

A result is kept when its score reaches ``min_score`` and it lies in the address's commune
(an arrondissement of it, or the commune a merged one now belongs to); otherwise the
address gets its commune point with ``precision: city``. Both are decisions worth
remembering. A failed batch decides nothing (the caller places those addresses at their
commune point for this run only, and asks again next run).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.geo.communes import CommuneIndex
from gateway.upstream import UpstreamClient

CSV_PATH = "/search/csv"
RESULT_COLUMNS = ("latitude", "longitude", "result_score", "result_type", "result_citycode")
#: BAN ``result_type`` → the precision a card shows.
PRECISION = {
    "housenumber": "housenumber",
    "street": "street",
    "locality": "locality",
    "municipality": "city",
}


@dataclass(frozen=True, slots=True)
class AddressQuery:
    key: str
    line: str
    postcode: str
    insee: str


@dataclass(frozen=True, slots=True)
class Placed:
    lat: float
    lon: float
    precision: str


class BatchGeocoder:
    def __init__(
        self,
        upstream: UpstreamClient,
        communes: CommuneIndex,
        *,
        batch_size: int = 5000,
        min_score: float = 0.5,
    ) -> None:
        self.upstream = upstream
        self.communes = communes
        self.batch_size = batch_size
        self.min_score = min_score

    @property
    def enabled(self) -> bool:
        return self.upstream.settings.enabled

    def commune_point(self, insee: str) -> Placed | None:
        commune = self.communes.current(insee) if insee else None
        return Placed(commune.lat, commune.lon, "city") if commune else None

    async def place(self, batch: Sequence[AddressQuery]) -> dict[str, Placed]:
        """Places for one batch, by key. Raises ``UpstreamError`` when the call fails."""
        with_street = [a for a in batch if a.line.strip()]
        found = await self._geocode(with_street) if with_street else {}
        out: dict[str, Placed] = {}
        for address in batch:
            hit = found.get(address.key)
            if hit is None:
                hit = self.commune_point(address.insee)
            if hit is not None:
                out[address.key] = hit
        return out

    async def _geocode(self, batch: Sequence[AddressQuery]) -> dict[str, Placed]:
        body = io.StringIO()
        writer = csv.writer(body)
        writer.writerow(["id", "address", "postcode", "citycode"])
        for number, address in enumerate(batch):
            writer.writerow([number, address.line, address.postcode, address.insee])
        response = await self.upstream.post_form(
            CSV_PATH,
            data={
                "columns": ["address", "postcode"],
                "citycode": "citycode",
                "result_columns": list(RESULT_COLUMNS),
            },
            files={"data": ("addresses.csv", body.getvalue().encode("utf-8"), "text/csv")},
            accept="text/csv",
        )
        out: dict[str, Placed] = {}
        for row in csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))):
            placed = self._accepted(row, batch)
            if placed is not None:
                out[placed[0]] = placed[1]
        return out

    def _accepted(
        self, row: dict[str, str], batch: Sequence[AddressQuery]
    ) -> tuple[str, Placed] | None:
        try:
            address = batch[int(row["id"])]
            score = float(row.get("result_score") or 0)
            lat, lon = float(row["latitude"]), float(row["longitude"])
        except (KeyError, ValueError, IndexError):
            return None  # an unanswered or garbled row: the commune point will do
        precision = PRECISION.get(row.get("result_type") or "")
        if score < self.min_score or precision is None:
            return None
        if not self._same_commune(row.get("result_citycode") or "", address.insee):
            return None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return None
        return address.key, Placed(lat, lon, precision)

    def _same_commune(self, found: str, wanted: str) -> bool:
        if not wanted or found == wanted:
            return True
        current = self.communes.current(wanted)
        if current is None:
            return False
        same = {current.insee, *self.communes.same_city(current.insee)}
        return found in same
