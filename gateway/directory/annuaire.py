"""Client of the API Annuaire Santé (FHIR R4 v2, header ``ESANTE-API-KEY``).

One card costs one logical search: ``Practitioner?identifier=…`` with
``_revinclude=PractitionerRole:practitioner`` and ``_include:iterate=PractitionerRole:
organization`` brings the practitioner, every role and every practice organization.
Paging follows ``next`` links and never relies on ``Bundle.total`` (often absent); the
client-side rate limit (17 calls/s by default) lives in the ``UpstreamClient``.
"""

from __future__ import annotations

import httpx
import msgspec

from gateway.directory.identifiers import PractitionerId
from gateway.directory.model import DirectoryResource, decode_directory
from gateway.errors import UpstreamBadResponse
from gateway.settings import MAX_ANNUAIRE_PAGE_SIZE
from gateway.upstream import UpstreamClient

_WITH_ROLES = {
    "_revinclude": "PractitionerRole:practitioner",
    "_include:iterate": "PractitionerRole:organization",
}


class AnnuaireClient:
    def __init__(self, upstream: UpstreamClient, page_size: int = 50, max_pages: int = 10) -> None:
        self.upstream = upstream
        self.page_size = min(page_size, MAX_ANNUAIRE_PAGE_SIZE)
        self.max_pages = max_pages

    async def practitioner(self, pid: PractitionerId) -> list[DirectoryResource]:
        """The practitioner, its roles and organizations (empty when unknown)."""
        params = {"identifier": pid.token, "_count": str(self.page_size), **_WITH_ROLES}
        return await self._all("/Practitioner", params)

    async def search_name(self, name: str, max_pages: int = 4) -> list[DirectoryResource]:
        params = {"name": name, "_count": str(self.page_size), **_WITH_ROLES}
        return await self._all("/Practitioner", params, max_pages)

    async def practitioner_pages(self, pid: PractitionerId) -> list[bytes]:
        """The raw Bundles of ``practitioner`` (for ``gateway sync directory``)."""
        params = {"identifier": pid.token, "_count": str(self.page_size), **_WITH_ROLES}
        return [raw for raw, _ in await self._pages("/Practitioner", params)]

    async def _all(
        self, path: str, params: dict[str, str], max_pages: int | None = None
    ) -> list[DirectoryResource]:
        return [r for _, page in await self._pages(path, params, max_pages) for r in page]

    async def _pages(
        self, path: str, params: dict[str, str], max_pages: int | None = None
    ) -> list[tuple[bytes, list[DirectoryResource]]]:
        out: list[tuple[bytes, list[DirectoryResource]]] = []
        url: str | None = path
        query: dict[str, str] | None = params
        seen: set[str] = set()
        for _ in range(max_pages or self.max_pages):
            if url is None:
                break
            response = await self.upstream.get(url, params=query)
            if response.status_code == 404:
                break
            if response.status_code >= 400:
                raise UpstreamBadResponse(
                    f"Annuaire Santé answered HTTP {response.status_code}",
                    upstream=self.upstream.name,
                )
            try:
                resources, next_url = decode_directory(response.content)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise UpstreamBadResponse(
                    f"Annuaire Santé sent malformed FHIR: {exc}", upstream=self.upstream.name
                ) from None
            out.append((response.content, resources))
            url = self._same_origin(response.request.url, next_url, seen)
            query = None  # a next link carries its own query string
        return out

    def _same_origin(self, current: httpx.URL, link: str | None, seen: set[str]) -> str | None:
        """The next page's URL; a link elsewhere (it would receive the API key) or a loop
        is refused."""
        if link is None:
            return None
        url = current.join(link)
        origin = httpx.URL(self.upstream.settings.url)
        if (url.scheme, url.host, url.port) != (origin.scheme, origin.host, origin.port):
            raise UpstreamBadResponse(
                "Annuaire Santé sent a next link to another host; not followed",
                upstream=self.upstream.name,
            )
        if str(url) in seen:
            return None
        seen.add(str(url))
        return str(url)
