"""Client of the ANS SMT FHIR terminology server (Ontoserver, FHIR R4, anonymous read).

Reads resources by canonical ``url`` (+ ``version``) and materialises full expansions by
paging ``count``/``offset`` *without trusting* ``expansion.total`` (SMT paging is unreliable:
total may equal the page size and offsets may be capped), stopping on a short page, an
empty page or a page that brings no new code.
"""

from __future__ import annotations

import msgspec

from gateway.errors import UnknownCode, UpstreamBadResponse
from gateway.terminology.model import (
    CodeSystem,
    ConceptMap,
    Expansion,
    ExpansionContains,
    ValueSet,
    decode_resources,
)
from gateway.upstream.client import UpstreamClient

_KINDS = {"CodeSystem": CodeSystem, "ValueSet": ValueSet, "ConceptMap": ConceptMap}


class _ExpandedValueSet(msgspec.Struct):
    expansion: Expansion | None = None


class SmtClient:
    def __init__(
        self, upstream: UpstreamClient, page_size: int = 1000, max_pages: int = 200
    ) -> None:
        self.upstream = upstream
        self.page_size = page_size
        self.max_pages = max_pages

    def _decode(
        self, data: bytes, what: str
    ) -> list[tuple[CodeSystem | ValueSet | ConceptMap, bytes]]:
        try:
            return decode_resources(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise UpstreamBadResponse(
                f"SMT sent malformed FHIR for {what}: {exc}", upstream=self.upstream.name
            ) from None

    async def read(
        self, kind: str, url: str, version: str | None = None
    ) -> list[tuple[CodeSystem | ValueSet | ConceptMap, bytes]]:
        """``GET /<kind>?url=…[&version=…]``; every matching version, possibly none."""
        params = {"url": url}
        if version:
            params["version"] = version
        response = await self.upstream.get(f"/{kind}", params=params)
        if response.status_code == 404:
            return []
        if response.status_code >= 400:
            raise UpstreamBadResponse(
                f"SMT answered HTTP {response.status_code} for {kind} {url}",
                upstream=self.upstream.name,
            )
        model = _KINDS[kind]
        return [(r, raw) for r, raw in self._decode(response.content, url) if isinstance(r, model)]

    async def lookup(self, system: str, code: str, version: str | None = None) -> bytes:
        """Raw ``Parameters`` of the SMT ``$lookup`` (used for code systems we do not hold)."""
        params = {"system": system, "code": code}
        if version:
            params["version"] = version
        response = await self.upstream.get("/CodeSystem/$lookup", params=params)
        if response.status_code in {400, 404, 422}:
            raise UnknownCode(
                f"Unknown code '{code}' in code system {system}",
                details={"system": system, "code": code},
            )
        if response.status_code >= 400:
            raise UpstreamBadResponse(
                f"SMT answered HTTP {response.status_code} for $lookup", upstream=self.upstream.name
            )
        return response.content

    async def expand_all(self, url: str, version: str | None = None) -> list[ExpansionContains]:
        """Every code of the value set, paging until the server runs dry."""
        seen: set[tuple[str | None, str | None]] = set()
        out: list[ExpansionContains] = []
        for page in range(self.max_pages):
            params = {
                "url": url,
                "count": str(self.page_size),
                "offset": str(page * self.page_size),
            }
            if version:
                params["valueSetVersion"] = version
            response = await self.upstream.get("/ValueSet/$expand", params=params)
            if response.status_code >= 400:
                raise UpstreamBadResponse(
                    f"SMT answered HTTP {response.status_code} for $expand",
                    upstream=self.upstream.name,
                )
            try:
                body = msgspec.json.decode(response.content, type=_ExpandedValueSet)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise UpstreamBadResponse(
                    f"SMT sent a malformed expansion: {exc}", upstream=self.upstream.name
                ) from None
            contains = body.expansion.contains if body.expansion else []
            fresh = [c for c in contains if (c.system, c.code) not in seen]
            for item in fresh:
                seen.add((item.system, item.code))
            out.extend(fresh)
            if len(contains) < self.page_size or not fresh:
                break
        return out
