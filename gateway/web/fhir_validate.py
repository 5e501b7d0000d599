"""``ValueSet/$validate-code`` and ``CodeSystem/$validate-code`` of the FHIR facade."""

from __future__ import annotations

import dataclasses
from typing import Any

from gateway.errors import InvalidInput, UnknownValueSet
from gateway.terminology.checker import Options
from gateway.terminology.compose_versions import expansion_parameter
from gateway.terminology.context import Finder, RequestContext
from gateway.terminology.display import parse_languages
from gateway.terminology.indexed import IndexedCodeSystem, IndexedValueSet
from gateway.terminology.service import TerminologyService
from gateway.terminology.supplements import valueset_supplements
from gateway.terminology.validate_code import Report, validate_in_codesystem, validate_in_valueset
from gateway.web import fhir_request
from gateway.web.fhir_params import OperationParams


def valueset_languages(vs: IndexedValueSet) -> tuple[str, ...]:
    """The display language a value set asks for (an expansion-parameter extension of its
    compose, else its own language)."""
    asked = expansion_parameter(vs.resource.compose, "displayLanguage")
    return parse_languages(asked if isinstance(asked, str) else vs.resource.language)


def default_valueset_version(params: OperationParams, finder: Finder, url: str) -> str | None:
    identity = finder.resolver.store.aliases.resolve(url)
    for value in params.texts("default-valueset-version"):
        system, _, version = value.partition("|")
        if version and finder.resolver.store.aliases.resolve(system) == identity:
            return version
    return None


async def find_valueset(params: OperationParams, finder: Finder) -> IndexedValueSet:
    """The value set of the request: given inline (``valueSet``) or named by ``url``."""
    inline = fhir_request.inline_valueset(params, finder.context)
    if inline is not None:
        return inline
    url = params.text("url")
    if not url:
        raise InvalidInput("Parameter 'url' (or 'valueSet') is required", parameter="url")
    version = params.text("valueSetVersion")
    if version is None and "|" not in url:
        version = default_valueset_version(params, finder, url)
    vs, _ = await finder.valueset(url, version)
    if vs is None:
        shown = f"{url}|{version}" if version else url
        raise UnknownValueSet(
            f"A definition for the value Set '{shown}' could not be found",
            details={"url": url, "version": version},
        )
    return vs


def _options(
    params: OperationParams, context: RequestContext, languages: tuple[str, ...]
) -> Options:
    return Options(
        rules=context.rules,
        active_only=params.flag("activeOnly"),
        lenient_display=params.flag("lenient-display-validation"),
        abstract_ok=params.flag("abstract", True),
        languages=context.languages or languages,
    )


async def validate_vs(
    terminology: TerminologyService, params: OperationParams, accept_language: str | None
) -> Report:
    context = fhir_request.request_context(params, terminology.store.aliases, accept_language)
    finder = Finder(terminology.resolver, context)
    vs = await find_valueset(params, finder)
    await finder.use_supplements(
        [*params.texts("useSupplement"), *valueset_supplements(vs.resource)]
    )
    codings, cc = fhir_request.codings(params, ("systemVersion",))
    options = _options(params, context, valueset_languages(vs))
    if vs.resource.compose is not None and vs.resource.compose.inactive is False:
        options = dataclasses.replace(options, active_only=True)  # the value set says so
    return await validate_in_valueset(
        finder,
        vs,
        codings,
        options,
        infer_system=params.flag("inferSystem"),
        codeable_concept=cc,
        membership_only=params.flag("valueset-membership-only"),
    )


async def validate_cs(
    terminology: TerminologyService, params: OperationParams, accept_language: str | None
) -> Report:
    context = fhir_request.request_context(params, terminology.store.aliases, accept_language)
    finder = Finder(terminology.resolver, context)
    await finder.use_supplements(params.texts("useSupplement"))
    codings, _ = fhir_request.codings(params, ("version", "systemVersion"))
    coding = codings[0]
    url = params.text("url")
    if url:
        system, _, pinned = url.partition("|")
        coding = type(coding)(
            coding.system or system,
            coding.version or pinned or None,
            coding.code,
            coding.display,
            coding.path,
        )
    if not coding.system:
        raise InvalidInput("Parameter 'url' (or 'system'/'coding') is required", parameter="url")
    return await validate_in_codesystem(finder, None, coding, _options(params, context, ()))


async def requested_supplements(
    terminology: TerminologyService, params: OperationParams
) -> list[IndexedCodeSystem]:
    """The supplements the request asks for (``useSupplement``); fails when one is not
    found."""
    context = fhir_request.request_context(params, terminology.store.aliases, None)
    await Finder(terminology.resolver, context).use_supplements(params.texts("useSupplement"))
    return list(context.supplements)


__all__: list[Any] = ["requested_supplements", "validate_cs", "validate_vs"]
