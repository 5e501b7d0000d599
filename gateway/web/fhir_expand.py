"""``ValueSet/$expand`` of the FHIR facade.

The common request (a loaded value set by ``url``, no version rules, no inline resources,
includes that pin no version) takes the service's memoised path: the filtered ``$expand``
benchmark runs there. Anything else resolves the value set's closure for this request
(``gateway.terminology.context``): versions pinned per include (wildcards too), request
rules, resources given inline, display languages.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.cache import CacheState, worst
from gateway.errors import (
    ExpansionTooCostly,
    InvalidInput,
    UnknownCodeSystem,
    UnsupportedOperation,
)
from gateway.terminology import engine
from gateway.terminology.context import Finder, Resolution
from gateway.terminology.display import labels_for
from gateway.terminology.engine import ExpandPage
from gateway.terminology.indexed import IndexedValueSet
from gateway.terminology.service import TerminologyService
from gateway.terminology.supplements import valueset_supplements
from gateway.web import fhir_format as fmt
from gateway.web import fhir_request
from gateway.web.deps import encoded
from gateway.web.fhir_params import OperationParams
from gateway.web.fhir_validate import find_valueset, valueset_languages

_SPECIAL = (
    "valueSet",
    "tx-resource",
    "system-version",
    "check-system-version",
    "force-system-version",
    "displayLanguage",
    "default-valueset-version",
    "useSupplement",
)


def _needs_context(vs: IndexedValueSet) -> bool:
    """Whether an include of ``vs`` pins a code system version or ``vs`` asks for
    supplements: the request-aware path expands it (memoised on the resource)."""
    found = vs.memo.get("needs-context")
    if not isinstance(found, bool):
        compose = vs.resource.compose
        found = compose is not None and any(
            inc.version for inc in [*compose.include, *compose.exclude]
        )
        found = found or bool(valueset_supplements(vs.resource))
        vs.memo["needs-context"] = found
    return found


#: A client may lower (never raise) the expansion limit for one request, as Ontoserver
#: allows: the HL7 test suites use it to check the too-costly answer.
THRESHOLD_HEADER = "x-too-costly-threshold"


def expansion_limit(terminology: TerminologyService, header: str | None) -> int:
    """The most codes this request's expansion may return."""
    if header is None:
        return terminology.max_expansion
    try:
        asked = int(header)
    except ValueError:
        asked = 0
    if asked < 1:
        raise InvalidInput(
            f"Header X-TOO-COSTLY-THRESHOLD must be a positive integer, not {header!r}",
            parameter="X-TOO-COSTLY-THRESHOLD",
        )
    return min(asked, terminology.max_expansion)


def _check_size(vs: IndexedValueSet, page: ExpandPage, limit: int) -> None:
    if len(page.items) > limit:
        raise ExpansionTooCostly(
            f"The expansion of value set '{vs.url}' has {page.total} codes, more than the "
            f"{limit} this server returns at once: page it (count, offset) or filter it",
            details={"total": page.total, "limit": limit},
        )


async def expand(
    terminology: TerminologyService,
    params: OperationParams,
    accept_language: str | None,
    limit: int | None = None,
) -> tuple[bytes | dict[str, Any], CacheState]:
    limit = terminology.max_expansion if limit is None else limit
    count = params.integer("count", None, maximum=10_000)
    if count is not None:
        count = min(count, limit)  # a page is never refused: it is cut to the limit
    offset = params.integer("offset", 0) or 0
    active_only = params.flag("activeOnly")
    text = params.text("filter")
    used = {"filter": text, "count": count, "offset": offset, "activeOnly": active_only or None}
    designations = params.flag("includeDesignations")
    url = params.text("url")
    special = any(params.has(name) for name in _SPECIAL) or accept_language
    if url and not special:
        vs_found = await terminology.resolver.valueset(url, params.text("valueSetVersion"))
        if not _needs_context(vs_found.value):
            found = await terminology.expand(
                url,
                version=params.text("valueSetVersion"),
                text_filter=text,
                active_only=active_only,
                offset=offset,
                count=count,
            )
            vs, page, state = found.value.valueset, found.value.page, found.state
            _check_size(vs, page, limit)
            body = encoded(
                vs.memo,
                ("$expand", page.key, text, designations),
                lambda: fmt.expansion_valueset(vs, page, used, designations),
            )
            return body, state
    if not url and not params.has("valueSet"):
        raise InvalidInput("Parameter 'url' (or 'valueSet') is required", parameter="url")
    context = fhir_request.request_context(params, terminology.store.aliases, accept_language)
    finder = Finder(terminology.resolver, context)
    vs = await find_valueset(params, finder)
    await finder.use_supplements(
        [*params.texts("useSupplement"), *valueset_supplements(vs.resource)]
    )
    resolution = await finder.closure(vs)
    _raise_unresolved(resolution, finder)
    page = engine.expand(
        vs,
        resolution.closure,
        terminology.store.aliases,
        text_filter=text,
        active_only=active_only,
        offset=offset,
        count=count,
    )
    _check_size(vs, page, limit)
    languages = context.languages or valueset_languages(vs)
    if languages:
        page = _translated(page, languages, resolution)
    state = worst(resolution.state, CacheState.HIT)
    return fmt.expansion_valueset(vs, page, used, designations), state


def _raise_unresolved(resolution: Resolution, finder: Finder) -> None:
    rules = finder.context.rules
    for identity, pins in resolution.pins.items():
        for pin in pins:
            cs = pin.codesystem
            if cs is None and not pin.enumerated:
                known = finder.versions(identity)
                valid = f"Valid versions: {' or '.join(known)}" if known else "No versions known"
                raise UnknownCodeSystem(
                    f"A definition for CodeSystem '{identity}' version '{pin.wanted}' could not "
                    f"be found, so the value set cannot be expanded. {valid}",
                    details={"system": identity, "version": pin.wanted},
                )
            if cs is None:
                continue
            pattern = rules.allowed(identity, cs.version)
            if pattern is not None:
                error = UnsupportedOperation(
                    f"The version '{cs.version}' is not allowed for system '{cs.url}': required "
                    f"to be '{pattern}' by a version-check parameter"
                )
                error.fhir_issue_code = "exception"
                raise error


def _translated(page: ExpandPage, languages: tuple[str, ...], resolution: Resolution) -> ExpandPage:
    """The page with each display in the first language asked for that the code has."""
    items = []
    for item in page.items:
        cs = resolution.closure.codesystems.get(item.system) or next(
            (c for c in resolution.closure.codesystems.values() if c.url == item.system), None
        )
        if item.concept is not None and cs is not None:
            display, _, _ = labels_for(cs, item.concept, languages)
            item = dataclasses.replace(item, display=display)
        items.append(item)
    return dataclasses.replace(page, items=items)
