"""Client of the API Annuaire Santé (FHIR R4 v2, header ``ESANTE-API-KEY``).

One card costs one logical search: ``Practitioner?identifier=…`` with
``_revinclude=PractitionerRole:practitioner`` and ``_include:iterate=PractitionerRole:
organization`` brings the practitioner, every role and every practice organization.
Paging is ``gateway.fhir.search_pages`` (``next`` links only, never ``Bundle.total``, often
absent; a loop or more than ``max_pages`` pages is an error, not a shorter result); the
client-side rate limit (17 calls/s by default) lives in the ``UpstreamClient``.
"""

from __future__ import annotations

import msgspec

from gateway.directory.identifiers import PractitionerId
from gateway.directory.model import (
    DirectoryResource,
    Organization,
    PractitionerRole,
    decode_entries,
    local_id,
)
from gateway.errors import UpstreamBadResponse
from gateway.fhir import search_pages
from gateway.fhir.paging import TooManyPages
from gateway.settings import MAX_ANNUAIRE_PAGE_SIZE
from gateway.upstream import UpstreamClient

_WITH_ROLES = {
    "_revinclude": "PractitionerRole:practitioner",
    "_include:iterate": "PractitionerRole:organization",
}
#: A search the Annuaire answers 404 has found nobody.
_NOBODY = frozenset({404})


class AnnuaireClient:
    def __init__(self, upstream: UpstreamClient, page_size: int = 50, max_pages: int = 10) -> None:
        self.upstream = upstream
        self.page_size = min(page_size, MAX_ANNUAIRE_PAGE_SIZE)
        self.max_pages = max_pages

    async def practitioner(self, pid: PractitionerId) -> list[DirectoryResource]:
        """The practitioner, its roles and organizations (empty when unknown). Organizations
        the answer lacks (a server ignoring ``_include:iterate``) are fetched by ``_id`` in
        one more call, so no practice location is lost."""
        params = {"identifier": pid.token, "_count": str(self.page_size), **_WITH_ROLES}
        found = await self._all("/Practitioner", params)
        held = {r.id for r in found if isinstance(r, Organization)}
        missing = sorted(
            {
                org
                for r in found
                if isinstance(r, PractitionerRole) and r.active is not False
                if (org := local_id(r.organization)) is not None and org not in held
            }
        )
        if missing:
            by_id = {"_id": ",".join(missing), "_count": str(self.page_size)}
            found += await self._all("/Organization", by_id)
        return found

    async def search_name(
        self, name: str, max_pages: int = 4
    ) -> tuple[list[DirectoryResource], bool]:
        """The practitioners matching ``name`` and whether that is all of them (False: more
        than ``max_pages`` pages; the first ones are kept, so a common name still gets
        candidates, but nobody can be said to be *the* one)."""
        params = {"name": name, "_count": str(self.page_size), **_WITH_ROLES}
        found: list[tuple[bytes, list[DirectoryResource]]] = []
        try:
            await self._pages("/Practitioner", params, max_pages, into=found)
        except TooManyPages:
            return [r for _, page in found for r in page], False
        return [r for _, page in found for r in page], True

    async def practitioner_pages(self, pid: PractitionerId) -> list[bytes]:
        """The raw Bundles of ``practitioner`` (for ``gateway sync directory``)."""
        params = {"identifier": pid.token, "_count": str(self.page_size), **_WITH_ROLES}
        return [raw for raw, _ in await self._pages("/Practitioner", params)]

    async def _all(
        self, path: str, params: dict[str, str], max_pages: int | None = None
    ) -> list[DirectoryResource]:
        return [r for _, page in await self._pages(path, params, max_pages) for r in page]

    async def _pages(
        self,
        path: str,
        params: dict[str, str],
        max_pages: int | None = None,
        into: list[tuple[bytes, list[DirectoryResource]]] | None = None,
    ) -> list[tuple[bytes, list[DirectoryResource]]]:
        out: list[tuple[bytes, list[DirectoryResource]]] = [] if into is None else into
        pages = search_pages(
            self.upstream, path, params, max_pages=max_pages or self.max_pages, absent=_NOBODY
        )
        async for page in pages:
            try:
                resources = decode_entries(page.bundle)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise UpstreamBadResponse(
                    f"Annuaire Santé sent malformed FHIR: {exc}", upstream=self.upstream.name
                ) from None
            out.append((page.raw, resources))
        return out
