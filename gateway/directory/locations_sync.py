"""``gateway sync locations``: the national directory into the working store, page by page.

Searches (FHIR, Annuaire Santé v2, ``_count`` 200, ``next`` links only via
``gateway.fhir.search_pages``, the client's 17 calls/s quota):

* full: ``PractitionerRole?active=true&_include=PractitionerRole:practitioner&_include=
  PractitionerRole:organization``; roles it did not see are removed at the end;
* incremental (after a complete run): the same role search without ``active`` and with
  ``_lastUpdated=ge<start of the last complete run>`` (inactive roles are removed), then
  ``Practitioner?_lastUpdated=ge…`` and ``Organization?_lastUpdated=ge…`` (names,
  qualifications and addresses changed without their roles changing).

Each page is applied and committed with the link of the next one, so a run that stops
(an upstream failing after its retries, Ctrl-C) resumes from there. Memory holds one page
at a time. Roles whose organization or practitioner the page lacks (a server ignoring an
include) get them fetched by ``_id`` in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from urllib.parse import urlencode

import msgspec

from gateway.directory.locations_store import (
    LocationsStore,
    OrganizationRow,
    PractitionerRow,
    RoleRow,
)
from gateway.directory.model import (
    DirectoryResource,
    Organization,
    Practitioner,
    PractitionerRole,
    decode_entries,
    local_id,
)
from gateway.directory.practitioner_codes import practitioner_codes, practitioner_idnps
from gateway.errors import UpstreamBadResponse
from gateway.fhir import Bundle, search_pages
from gateway.terminology.canonical import CanonicalIndex
from gateway.upstream import UpstreamClient

R = TypeVar("R", Organization, Practitioner)
MAX_PAGES = 100_000
PHASES = {"full": ["roles"], "incremental": ["roles", "practitioners", "organizations"]}
_ID_CHUNK = 50
_ROLE_INCLUDES = [
    ("_include", "PractitionerRole:practitioner"),
    ("_include", "PractitionerRole:organization"),
]


class Progress(Protocol):
    def phase(self, name: str) -> None: ...

    def page(self, roles: int) -> None: ...


@dataclass(slots=True)
class PagingOutcome:
    mode: str = ""
    resumed: bool = False
    pages: int = 0
    roles: int = 0
    removed: int = 0
    fetched_by_id: int = 0
    phases: list[str] = field(default_factory=list)


class DirectoryPaging:
    """Pages the Annuaire into ``store``; state keys ``run.*`` and ``last.started``."""

    def __init__(
        self,
        annuaire: UpstreamClient,
        store: LocationsStore,
        progress: Progress,
        *,
        aliases: CanonicalIndex | None = None,
        page_size: int = 200,
        on_addresses: Callable[[Sequence[OrganizationRow]], None] | None = None,
    ) -> None:
        self.annuaire = annuaire
        self.store = store
        self.progress = progress
        self.aliases = aliases
        self.page_size = page_size
        #: Told, after each page is applied, the organizations its active roles point to
        #: (their addresses are geocoded while paging goes on).
        self.on_addresses = on_addresses

    async def run(self, full: bool) -> PagingOutcome:
        store = self.store
        outcome = PagingOutcome()
        pending = store.get("run.mode")
        if pending is not None and not (full and pending != "full"):
            outcome.resumed = True
        else:
            since = None if full else store.get("last.started")
            generation = int(store.get("run.generation") or "0") + (1 if since is None else 0)
            store.put("run.generation", str(generation))
            store.put("run.mode", "full" if since is None else "incremental")
            store.put("run.since", since)
            store.put("run.started", datetime.now(UTC).isoformat(timespec="seconds"))
            store.put("run.phase", "roles")
            store.put("run.next", None)
            store.commit()
        outcome.mode = store.get("run.mode") or "full"
        generation = int(store.get("run.generation") or "1")
        phases = (
            ["roles"] if outcome.mode == "full" else ["roles", "practitioners", "organizations"]
        )
        start = phases.index(store.get("run.phase") or "roles")
        for phase in phases[start:]:
            outcome.phases.append(phase)
            self.progress.phase(phase)
            await self._phase(phase, generation, store.get("run.since"), outcome)
            following = phases.index(phase) + 1
            store.put("run.phase", phases[following] if following < len(phases) else "done")
            store.put("run.next", None)
            store.commit()
        if outcome.mode == "full":
            outcome.removed = store.remove_roles_before(generation)
        store.put("last.started", store.get("run.started"))
        for key in ("run.mode", "run.since", "run.started", "run.phase", "run.next"):
            store.put(key, None)
        store.commit()
        return outcome

    def _first_url(self, phase: str, since: str | None) -> str:
        pairs = [("_count", str(self.page_size))]
        if since is not None:
            pairs.append(("_lastUpdated", f"ge{since}"))
        if phase == "roles":
            if since is None:
                pairs.append(("active", "true"))
            return f"/PractitionerRole?{urlencode(pairs + _ROLE_INCLUDES)}"
        return f"/{phase[:-1].capitalize()}?{urlencode(pairs)}"

    async def _phase(
        self, phase: str, generation: int, since: str | None, outcome: PagingOutcome
    ) -> None:
        url = self.store.get("run.next") or self._first_url(phase, since)
        async for page in search_pages(self.annuaire, url, {}, max_pages=MAX_PAGES):
            resources = _decode(page.bundle, self.annuaire.name)
            roles = await self.apply(resources, generation, outcome)
            link = page.bundle.next_url()
            self.store.put("run.next", str(page.url.join(link)) if link else None)
            self.store.commit()
            outcome.pages += 1
            outcome.roles += roles
            self.progress.page(roles)

    async def apply(
        self, resources: Sequence[DirectoryResource], generation: int, outcome: PagingOutcome
    ) -> int:
        """One page into the store (not committed); answers how many roles it held."""
        practitioners = [r for r in resources if isinstance(r, Practitioner)]
        organizations = [r for r in resources if isinstance(r, Organization)]
        roles = [r for r in resources if isinstance(r, PractitionerRole)]
        rows = [row for role in roles if (row := _role_row(role)) is not None]
        active = [r for r in rows if r.active]
        organizations += await self._missing(
            Organization, {r.organization for r in active}, organizations, outcome
        )
        practitioners += await self._missing(
            Practitioner, {r.practitioner for r in active}, practitioners, outcome
        )
        organization_rows = list(_organization_rows(organizations))
        self.store.upsert_practitioners(self._practitioner_rows(practitioners))
        self.store.upsert_organizations(organization_rows)
        self.store.apply_roles(rows, generation)
        if self.on_addresses is not None and active:
            places = {r.organization for r in active}
            self.on_addresses([o for o in organization_rows if o.id in places])
        return len(roles)

    async def _missing(
        self, kind: type[R], wanted: set[str], held: Sequence[R], outcome: PagingOutcome
    ) -> list[R]:
        """The ``kind`` resources roles point to that neither the page nor the store has,
        fetched by ``_id`` (a server that ignored an include)."""
        missing = wanted - {r.id for r in held}
        missing -= self.store.known(kind.__name__.lower(), missing)
        if not missing:
            return []
        outcome.fetched_by_id += len(missing)
        return [r for r in await self._by_id(kind.__name__, missing) if isinstance(r, kind)]

    async def _by_id(self, kind: str, ids: Iterable[str]) -> list[DirectoryResource]:
        wanted = sorted(ids)
        found: list[DirectoryResource] = []
        for start in range(0, len(wanted), _ID_CHUNK):
            chunk = ",".join(wanted[start : start + _ID_CHUNK])
            params = {"_id": chunk, "_count": str(self.page_size)}
            async for page in search_pages(self.annuaire, f"/{kind}", params, max_pages=10):
                found += _decode(page.bundle, self.annuaire.name)
        return found

    def _practitioner_rows(self, found: Iterable[Practitioner]) -> Iterable[PractitionerRow]:
        for practitioner in found:
            idnps = practitioner_idnps(practitioner)
            if not practitioner.id or idnps is None:
                continue
            name = next((n for n in practitioner.name if n.family), None)
            codes = practitioner_codes(practitioner, self.aliases)
            yield PractitionerRow(
                id=practitioner.id,
                idnps=idnps,
                family=(name.family or "") if name else "",
                given=" ".join(name.given) if name else "",
                profession=codes.profession.code if codes.profession else "",
                specialty=codes.specialty.code if codes.specialty else "",
                active=practitioner.active is not False,
            )


def _decode(bundle: Bundle, upstream: str) -> list[DirectoryResource]:
    try:
        return decode_entries(bundle)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamBadResponse(
            f"Annuaire Santé sent a malformed page: {exc}", upstream=upstream
        ) from None


def _role_row(role: PractitionerRole) -> RoleRow | None:
    practitioner, organization = local_id(role.practitioner), local_id(role.organization)
    if not role.id:
        return None
    if practitioner is None or organization is None:
        # A role without a place or a person is no practice location: gone if it was one.
        return RoleRow(role.id, "", "", active=False)
    return RoleRow(role.id, practitioner, organization, active=role.active is not False)


def _organization_rows(found: Iterable[Organization]) -> Iterable[OrganizationRow]:
    for organization in found:
        if not organization.id:
            continue
        address = next((a for a in organization.address if a.insee()), None)
        if address is None:
            address = organization.address[0] if organization.address else None
        yield OrganizationRow(
            id=organization.id,
            name=organization.name or "",
            line=(address.street() or "") if address else "",
            insee=(address.insee() or "") if address else "",
            postcode=(address.postalCode or "") if address else "",
            city=(address.city or "") if address else "",
        )
