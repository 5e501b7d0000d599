"""Client of the ANS SMT FHIR terminology server (Ontoserver, FHIR R4, anonymous read).

Reads resources by canonical ``url`` (+ ``version``), finds the one an OID or a NOS name
denotes (``identifier=urn:oid:…`` / ``name=TRE_R38``: codings arrive as OIDs far more
often than as canonical URLs), lists what the server publishes, and materialises full expansions by
paging ``count``/``offset`` *without trusting* ``expansion.total`` (SMT paging is unreliable:
total may equal the page size and offsets may be capped), stopping on a short page, an
empty page or a page that brings no new code. (Offset paging inside one ValueSet: the
``next``-link pager of ``gateway.fhir`` does not apply.) Statuses and bodies are read by
``UpstreamClient.get_json``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import msgspec

from gateway.errors import UnknownCode, UpstreamBadResponse
from gateway.fhir import Coding
from gateway.fhir.paging import search_pages
from gateway.terminology.canonical import OID_PREFIX, nos_id, strip_url
from gateway.terminology.indexed import FlatConcept, flatten_concept
from gateway.terminology.model import (
    CodeSystem,
    Concept,
    ConceptMap,
    ConceptProperty,
    Designation,
    Expansion,
    ExpansionContains,
    ValueSet,
    decode_resources,
)
from gateway.upstream.client import UpstreamClient

_KINDS = {"CodeSystem": CodeSystem, "ValueSet": ValueSet, "ConceptMap": ConceptMap}
#: Ontoserver answers 400/422 for a canonical or code it cannot parse: nothing by that name.
_NOTHING_BY_THAT_NAME = frozenset({400, 404, 422})
_OID = re.compile(r"^(?:urn:oid:)?([0-2](?:\.\d+)+)$", re.IGNORECASE)
Found = list[tuple[CodeSystem | ValueSet | ConceptMap, bytes]]


def alias_search(alias: str) -> tuple[str, str] | None:
    """The search parameter that finds what an OID or a NOS name denotes, else None (a
    canonical URL is read by ``url``; anything else names nothing the SMT can search)."""
    text = strip_url(alias)
    if (oid := _OID.match(text)) is not None:
        return "identifier", OID_PREFIX + oid.group(1)
    if "/" not in text and ":" not in text and (nos := nos_id(text)) is not None:
        # ``name`` is a starts-with string search: TRE_R38 also finds TRE_R380 (filtered).
        return "name", nos
    return None


def _denotes(resource: CodeSystem | ValueSet | ConceptMap, search: tuple[str, str]) -> bool:
    parameter, value = search
    if parameter == "name":
        return resource.url is not None and nos_id(resource.url) == value
    identifiers = (
        resource.identifiers() if isinstance(resource, ConceptMap) else resource.identifier
    )
    return any(i.value == value for i in identifiers)


class _Summary(msgspec.Struct):
    url: str | None = None
    version: str | None = None


class Listed(msgspec.Struct, frozen=True, order=True):
    """One resource (one version) a server lists."""

    url: str
    version: str | None = None


class _ExpandedValueSet(msgspec.Struct):
    expansion: Expansion | None = None


class _Part(msgspec.Struct, rename="camel"):
    name: str
    value_string: str | None = None
    value_code: str | None = None
    value_boolean: bool | None = None
    value_coding: Coding | None = None
    value_date_time: str | None = None
    part: list[_Part] = []

    def text(self) -> str | None:
        return self.value_string or self.value_code

    def named(self, name: str) -> _Part | None:
        return next((p for p in self.part if p.name == name), None)


class _LookupAnswer(msgspec.Struct):
    parameter: list[_Part] = []

    def _first(self, name: str) -> _Part | None:
        return next((p for p in self.parameter if p.name == name), None)

    def parent(self) -> str | None:
        for prop in (p for p in self.parameter if p.name == "property"):
            code, value = prop.named("code"), prop.named("value")
            if code is not None and code.text() == "parent" and value is not None:
                return value.text()
        return None

    def concept(self, code: str) -> Concept:
        display = self._first("display")
        designations = []
        properties = []
        for item in self.parameter:
            if item.name == "designation" and (value := item.named("value")) is not None:
                language, use = item.named("language"), item.named("use")
                designations.append(
                    Designation(
                        value=value.text() or "",
                        language=language.text() if language else None,
                        use=use.value_coding if use else None,
                    )
                )
            elif item.name == "property" and (prop_code := item.named("code")) is not None:
                value = item.named("value")
                properties.append(
                    ConceptProperty(
                        code=prop_code.text() or "",
                        value_code=value.value_code if value else None,
                        value_string=value.value_string if value else None,
                        value_boolean=value.value_boolean if value else None,
                        value_date_time=value.value_date_time if value else None,
                        value_coding=value.value_coding if value else None,
                    )
                )
        return Concept(
            code=code,
            display=display.text() if display else None,
            designation=designations,
            property=properties,
        )


class SmtClient:
    def __init__(
        self, upstream: UpstreamClient, page_size: int = 1000, max_pages: int = 200
    ) -> None:
        self.upstream = upstream
        self.page_size = page_size
        self.max_pages = max_pages

    def _decode(self, data: bytes, what: str) -> Found:
        try:
            return decode_resources(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise UpstreamBadResponse(
                f"SMT sent malformed FHIR for {what}: {exc}", upstream=self.upstream.name
            ) from None

    async def read(self, kind: str, url: str, version: str | None = None) -> Found:
        """``GET /<kind>?url=…[&version=…]``; every matching version, possibly none."""
        return await self._search(kind, ("url", url), version)

    async def find(self, kind: str, alias: str, version: str | None = None) -> Found:
        """The ``kind`` resources an OID or NOS name denotes (every version, possibly none).
        Only what really carries that identifier or NOS name is kept: a server may match
        loosely or ignore a parameter."""
        search = alias_search(alias)
        if search is None:
            return []
        found = await self._search(kind, search, version)
        return [(r, raw) for r, raw in found if _denotes(r, search)]

    async def _search(self, kind: str, search: tuple[str, str], version: str | None) -> Found:
        params = dict([search])
        if version:
            params["version"] = version
        # Raw: a searchset or a lone resource, decoded (with each resource's own JSON) below
        data = await self.upstream.get_json(
            f"/{kind}", params, type=msgspec.Raw, absent=_NOTHING_BY_THAT_NAME
        )
        if data is None:
            return []
        model = _KINDS[kind]
        return [(r, raw) for r, raw in self._decode(bytes(data), search[1]) if isinstance(r, model)]

    async def catalogue(self, kind: str, max_pages: int = 200) -> AsyncIterator[Listed]:
        """Every version of every NOS ``kind`` the server publishes (its searchset,
        following ``next`` links, summaries only), each once."""
        seen: set[Listed] = set()
        params = {"_elements": "url,version,name,identifier", "_count": "200"}
        async for page in search_pages(self.upstream, f"/{kind}", params, max_pages=max_pages):
            for raw in page.bundle.resources():
                summary = msgspec.json.decode(raw, type=_Summary)
                if not summary.url or nos_id(summary.url) is None:
                    continue
                listed = Listed(strip_url(summary.url), summary.version)
                if listed not in seen:
                    seen.add(listed)
                    yield listed

    async def lookup(self, system: str, code: str, version: str | None = None) -> FlatConcept:
        """``$lookup`` on the SMT, for code systems we only hold in part (``content``
        fragment / not-present); the answer's Parameters become a ``FlatConcept``."""
        params = {"system": system, "code": code}
        if version:
            params["version"] = version
        answer = await self.upstream.get_json(
            "/CodeSystem/$lookup", params, type=_LookupAnswer, absent=_NOTHING_BY_THAT_NAME
        )
        if answer is None:
            raise UnknownCode(
                f"Unknown code '{code}' in code system {system}",
                details={"system": system, "code": code},
            )
        return flatten_concept(answer.concept(code), parent=answer.parent())

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
            # Every 4xx is an error: the value set was read before it is expanded.
            body = await self.upstream.get_json(
                "/ValueSet/$expand", params, type=_ExpandedValueSet, absent=frozenset()
            )
            contains = body.expansion.contains if body and body.expansion else []
            fresh = [c for c in contains if (c.system, c.code) not in seen]
            for item in fresh:
                seen.add((item.system, item.code))
            out.extend(fresh)
            if len(contains) < self.page_size or not fresh:
                break
        return out
