"""Practitioner cards built from the practice-location index.

Search may return a practitioner the directory snapshot does not hold (the demo's generated
practitioners; later, the national directory's export): this card source gives each of
them a card, offline, from what the index knows (name, profession, main specialty, the
communes and points of the practice locations, and, in an index built from the national
directory, the organization, street address and the precision of each point).

Name look-ups score every distinct full name of the index with rapidfuzz, the scorer the
directory uses; the table of distinct names is built on the first name look-up, in a
thread (~1 s for a million rows), not at start-up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from gateway.component import Live
from gateway.directory.cards import Location, PractitionerCard
from gateway.directory.identifiers import IDNPS_PREFIX, idnps_of
from gateway.directory.practitioner_codes import PROFESSION_NOS, SPECIALTY_NOS
from gateway.directory.practitioners import MATCH, STRONG_MATCH, Candidate, NameMatches
from gateway.geo.communes import CommuneIndex
from gateway.search.labels import Labels
from gateway.search.live_index import LocationIndex
from gateway.search.locations import PracticeLocations
from gateway.text import normalise


@dataclass(frozen=True, slots=True)
class _Names:
    #: Distinct full names, ``normalise``d ("family given").
    names: list[str]
    #: Row positions grouped by name: name ``i`` owns ``rows[starts[i]:starts[i + 1]]``.
    rows: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]


class IndexCards:
    def __init__(self, index: Live[LocationIndex], labels: Labels, communes: CommuneIndex) -> None:
        self.index = index
        self.labels = labels
        self.communes = communes
        #: The name table of one index version (rebuilt after a swap, on first use).
        self._names: tuple[str, _Names] | None = None
        self._building = asyncio.Lock()

    async def card(self, rpps: str) -> PractitionerCard | None:
        if not rpps.isdigit():
            return None
        locations = self.index.current.locations
        positions = locations.positions_of(int(idnps_of(rpps)))
        if not positions.size:
            return None
        return await self._card(locations, positions)

    async def by_name(self, query: str, limit: int) -> NameMatches:
        index = self.index.current
        locations = index.locations
        names = await self._name_table(index)
        found = process.extract(
            query,
            names.names,
            scorer=fuzz.token_sort_ratio,
            processor=None,
            score_cutoff=MATCH,
            limit=None,
        )
        idnps_column = locations.columns["idnps"]
        best: dict[int, float] = {}
        strong: set[str] = set()
        for _, score, i in found:
            rows = names.rows[names.starts[i] : names.starts[i + 1]]
            for idnps in np.unique(idnps_column[rows]).tolist():
                best[idnps] = max(best.get(idnps, 0.0), round(float(score), 1))
                if score >= STRONG_MATCH:
                    strong.add(_rpps(idnps))
        ranked = sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]
        candidates = [
            Candidate(await self._card(locations, locations.positions_of(idnps)), score)
            for idnps, score in ranked
        ]
        return NameMatches(candidates, frozenset(strong))

    async def _card(
        self, loc: PracticeLocations, positions: npt.NDArray[np.int64]
    ) -> PractitionerCard:
        columns = loc.columns
        positions = positions[np.argsort(columns["ordinal"][positions], kind="stable")]
        first = int(positions[0])
        idnps = str(int(columns["idnps"][first]))
        specialties = []
        for code in dict.fromkeys(loc.text("specialty", int(p)) for p in positions):
            label = await self.labels.of(SPECIALTY_NOS, code)
            if label is not None:
                specialties.append(label)
        return PractitionerCard(
            idnps=idnps,
            rpps=_rpps(int(idnps)),
            family=loc.text("family", first) or None,
            given=loc.text("given", first) or None,
            profession=await self.labels.of(PROFESSION_NOS, loc.text("profession", first)),
            specialties=specialties,
            locations=[self._location(loc, int(p)) for p in positions],
        )

    def _location(self, loc: PracticeLocations, position: int) -> Location:
        insee = loc.text("insee", position)
        commune = self.communes.by_insee(insee)
        postcodes = commune.postcodes if commune else ()
        postcode = loc.text("postcode", position) or (postcodes[0] if len(postcodes) == 1 else "")
        return Location(
            organization=loc.text("organization", position) or None,
            address=loc.text("address", position) or None,
            insee=insee or None,
            postcode=postcode or None,
            city=commune.name if commune else None,
            lat=float(loc.columns["lat"][position]),
            lon=float(loc.columns["lon"][position]),
            precision=loc.text("precision", position) or None,
        )

    async def _name_table(self, index: LocationIndex) -> _Names:
        async with self._building:
            if self._names is None or self._names[0] != index.version:
                names = await asyncio.to_thread(_build_names, index.locations)
                self._names = (index.version, names)
            return self._names[1]


def _rpps(idnps: int) -> str:
    text = str(idnps)
    return text.removeprefix(IDNPS_PREFIX) if text.startswith(IDNPS_PREFIX) else text


def _build_names(locations: PracticeLocations) -> _Names:
    columns = locations.columns
    pairs = np.empty(len(locations), dtype=[("family", "S40"), ("given", "S40")])
    pairs["family"] = columns["family"]
    pairs["given"] = columns["given"]
    distinct, inverse = np.unique(pairs, return_inverse=True)
    rows = np.argsort(inverse.ravel(), kind="stable").astype(np.int64)
    counts = np.bincount(inverse.ravel(), minlength=len(distinct))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    names = [
        normalise(f"{bytes(f).decode('utf-8', 'replace')} {bytes(g).decode('utf-8', 'replace')}")
        for f, g in distinct.tolist()
    ]
    return _Names(names, rows, starts)
