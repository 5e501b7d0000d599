"""Practitioner service: cards by identifier and candidates by name.

Online, each practitioner is a cache entry (``("practitioner", rpps)``), and so is each name
search (under a salted hash of the normalised name): one Annuaire call
on a miss (single-flight for bursts), background refresh after the soft TTL, the last good
copy or the snapshot when the directory fails (502/504/timeout), and a short-lived negative
for an unknown practitioner. Offline, the snapshot answers. Name search ranks candidates
with rapidfuzz, family/given in either order, accents and case ignored; following the SAS
rule, a name is *identified* only when its strong matches are one single RPPS.

A second source of cards (``CardSource``) may be attached: the practice-location index
(``gateway.search.index_cards``), so every practitioner that search can return has a card,
even one the snapshot does not hold. It is asked after the directory: for a card the
directory does not know, and, when the directory is served offline, for name matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rapidfuzz import fuzz

from gateway.cache import CachedLoader, CacheState, Freshness, hashed_key
from gateway.directory.annuaire import AnnuaireClient
from gateway.directory.cards import Locate, PractitionerCard, build_card
from gateway.directory.identifiers import PractitionerId
from gateway.directory.index import DirectoryIndex, PractitionerRecord
from gateway.directory.model import rpps_of
from gateway.errors import InvalidInput, UnknownPractitioner
from gateway.settings import CacheSettings, DirectoryCacheSettings
from gateway.terminology.service import TerminologyService
from gateway.text import normalise

#: Candidates at or above this score are "strong" matches for identification.
STRONG_MATCH = 90.0
#: Candidates below this score are not returned.
MATCH = 60.0


@dataclass(frozen=True, slots=True)
class Candidate:
    card: PractitionerCard
    score: float


@dataclass(frozen=True, slots=True)
class NameSearch:
    candidates: list[Candidate]
    identified: bool
    rpps: str | None
    state: CacheState
    #: How many different RPPS the strong matches name (several → not identified).
    strong_rpps: int = 0


@dataclass(frozen=True, slots=True)
class NameMatches:
    """A card source's answer to a name: the best candidates, and every RPPS matched
    strongly (the SAS rule counts them all, not only the page returned)."""

    candidates: list[Candidate]
    strong: frozenset[str] = field(default_factory=frozenset)


class CardSource(Protocol):
    async def card(self, rpps: str) -> PractitionerCard | None: ...

    async def by_name(self, query: str, limit: int) -> NameMatches:
        """Matches for ``query``, already ``normalise``d."""


def name_score(query: str, full_name: str) -> float:
    """How well ``query`` names a person called ``full_name`` (family and given names, in
    any order; both already ``normalise``d)."""
    return round(float(fuzz.token_sort_ratio(query, full_name, processor=None)), 1)


def record_name(record: PractitionerRecord) -> str:
    name = next((n for n in record.practitioner.name if n.family), None)
    return normalise(" ".join([name.family or "", *name.given])) if name else ""


class PractitionerService:
    def __init__(
        self,
        snapshot: DirectoryIndex,
        terminology: TerminologyService,
        locate: Locate,
        *,
        client: AnnuaireClient | None = None,
        loader: CachedLoader | None = None,
        freshness: Freshness | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.terminology = terminology
        self.locate = locate
        self.client = client if client is not None and client.upstream.settings.enabled else None
        self.loader = loader
        self.freshness = freshness or Freshness.cards(CacheSettings(), DirectoryCacheSettings())
        self.more: CardSource | None = None

    def attach(self, source: CardSource) -> None:
        """Answers for practitioners the directory does not hold (see the module doc)."""
        self.more = source

    @property
    def offline(self) -> bool:
        return self.client is None or self.loader is None

    async def card(self, pid: PractitionerId) -> tuple[PractitionerCard, CacheState]:
        try:
            record, state = await self._record(pid)
        except UnknownPractitioner:
            found = await self.more.card(pid.rpps) if self.more is not None else None
            if found is None:
                raise
            return found, CacheState.HIT
        return await self._card_of(record), state

    async def _record(self, pid: PractitionerId) -> tuple[PractitionerRecord, CacheState]:
        client, loader = self.client, self.loader
        if client is None or loader is None:
            record = self.snapshot.record(pid.rpps)
            if record is None:
                raise self._unknown(pid)
            return record, CacheState.HIT

        async def fetch() -> PractitionerRecord:
            resources = await client.practitioner(pid)
            found = DirectoryIndex.from_resources(resources, "annuaire").record(pid.rpps)
            if found is None:
                raise self._unknown(pid)
            return found

        result = await loader.get(
            ("practitioner", pid.rpps),
            fetch,
            self.freshness,
            fallback=lambda: self.snapshot.record(pid.rpps),
        )
        return result.value, result.state

    async def _card_of(self, record: PractitionerRecord) -> PractitionerCard:
        if record.card is None:
            record.card = await build_card(
                record.practitioner, record.organizations, self.terminology, self.locate
            )
        return record.card

    async def search(self, name: str, limit: int = 10) -> NameSearch:
        wanted = normalise(name)
        if len(wanted) < 2:
            raise InvalidInput("name must have at least 2 letters", parameter="name")
        state = CacheState.HIT
        index = self.snapshot
        client, loader = self.client, self.loader
        if client is not None and loader is not None:

            async def fetch() -> tuple[DirectoryIndex, bool]:
                resources, complete = await client.search_name(name)
                return DirectoryIndex.from_resources(resources, "annuaire"), complete

            # Cached like cards (the Annuaire allows 17 calls/s), under a salted hash: the
            # name may be typed by a regulator and must not sit in memory as a key.
            result = await loader.get(hashed_key("name", wanted), fetch, self.freshness)
            (index, complete), state = result.value, result.state
        else:
            complete = True
        scored = sorted(
            ((name_score(wanted, record_name(record)), record) for record in index.records()),
            key=lambda pair: -pair[0],
        )
        scored = [(score, record) for score, record in scored if score >= MATCH]
        # The SAS rule looks at every strong match, not only the page returned.
        strong = {rpps_of(r.practitioner) for score, r in scored if score >= STRONG_MATCH}
        candidates = [Candidate(await self._card_of(r), score) for score, r in scored[:limit]]
        if self.more is not None and self.offline:
            more = await self.more.by_name(wanted, limit)
            known = {c.card.rpps for c in candidates}
            candidates += [c for c in more.candidates if c.card.rpps not in known]
            candidates = sorted(candidates, key=lambda c: -c.score)[:limit]
            strong |= more.strong
        # A cut result cannot prove that nobody else matches as strongly.
        identified = complete and len(strong) == 1 and None not in strong
        return NameSearch(
            candidates,
            identified,
            next(iter(strong)) if identified else None,
            state,
            len(strong - {None}),
        )

    @staticmethod
    def _unknown(pid: PractitionerId) -> UnknownPractitioner:
        return UnknownPractitioner(
            f"No practitioner with IDNPS {pid.idnps} in the directory",
            details={"idnps": pid.idnps},
        )
