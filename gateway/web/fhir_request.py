"""What a FHIR terminology request carries beyond its simple parameters: inline resources
(``tx-resource``, ``valueSet``), version rules, display languages, and the coding(s) to
validate in whichever form they came (``code``+``system``, ``coding``, ``codeableConcept``).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import msgspec

from gateway.errors import InvalidInput
from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.checker import CodingInput
from gateway.terminology.context import RequestContext
from gateway.terminology.display import parse_languages
from gateway.terminology.indexed import IndexedValueSet, index_resource
from gateway.terminology.issues import Path
from gateway.terminology.model import ValueSet, decode_resources
from gateway.terminology.versions import VersionRules
from gateway.web.fhir_params import OperationParams

_inline_ids = itertools.count(1)
#: a BCP 47 language tag (``fr``, ``fr-CA``, ``zh-Hant-TW``) or ``*``
_LANGUAGE = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")
INLINE_PREFIX = "urn:gateway:inline:"


def request_context(
    params: OperationParams, aliases: CanonicalIndex, accept_language: str | None
) -> RequestContext:
    rules = VersionRules.parse(
        aliases.resolve,
        default=params.texts("system-version"),
        check=params.texts("check-system-version"),
        force=params.texts("force-system-version"),
    )
    asked = params.text("displayLanguage")
    if asked is not None and not all(_LANGUAGE.match(tag) for tag in parse_languages(asked)):
        error = InvalidInput(f"Invalid displayLanguage: '{asked}'", parameter="displayLanguage")
        error.fhir_issue_code = "processing"  # what the HL7 tests expect
        raise error
    languages = parse_languages(asked or accept_language)
    context = RequestContext(rules=rules, languages=languages)
    for value in params.texts("default-valueset-version"):
        url, _, version = value.partition("|")
        if url and version:
            context.valueset_versions[aliases.resolve(url)] = version
    for raw in params.resources("tx-resource"):
        try:
            decoded = decode_resources(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(f"Invalid tx-resource: {exc}", parameter="tx-resource") from None
        for resource, data in decoded:
            context.inline.add(index_resource(resource, data, source="request"))
    return context


def inline_valueset(
    params: OperationParams, context: RequestContext | None = None
) -> IndexedValueSet | None:
    """The ``valueSet`` parameter: a value set given whole (it may have no url). Value sets
    it contains are added to ``context`` and its ``#id`` imports renamed to them."""
    found = params.resources("valueSet")
    if not found:
        return None
    try:
        data = msgspec.json.decode(found[0])
        if not isinstance(data, dict) or data.get("resourceType") != "ValueSet":
            raise InvalidInput("Parameter 'valueSet' must be a ValueSet", parameter="valueSet")
        data.setdefault("url", f"{INLINE_PREFIX}{next(_inline_ids)}")
        if context is not None:
            _contained(data, context)
        raw = msgspec.json.encode(data)
        resource = msgspec.json.decode(raw, type=ValueSet)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput(f"Invalid valueSet: {exc}", parameter="valueSet") from None
    return IndexedValueSet.build(resource, raw, source="request")


def _contained(data: dict[str, Any], context: RequestContext) -> None:
    """Contained value sets become request resources; ``#id`` references name them."""
    names: dict[str, str] = {}
    contained = data.get("contained")
    for item in contained if isinstance(contained, list) else []:
        if isinstance(item, dict) and item.get("resourceType") == "ValueSet" and item.get("id"):
            item.setdefault("url", f"{data['url']}#{item['id']}")
            raw = msgspec.json.encode(item)
            context.add(msgspec.json.decode(raw, type=ValueSet), raw)
            names[f"#{item['id']}"] = str(item["url"])
    compose = data.get("compose")
    if not names or not isinstance(compose, dict):
        return
    parts = [compose.get("include"), compose.get("exclude")]
    for part in [p for found in parts if isinstance(found, list) for p in found]:
        if isinstance(part, dict) and isinstance(part.get("valueSet"), list):
            part["valueSet"] = [names.get(ref, ref) for ref in part["valueSet"]]


def codings(
    params: OperationParams, version_names: tuple[str, ...]
) -> tuple[list[CodingInput], bool]:
    """The codings to validate, and whether they came as a CodeableConcept."""
    concept = params.codeable_concept()
    if concept is not None:
        return [
            CodingInput(
                c.system, c.version, c.code or "", c.display, Path(f"CodeableConcept.coding[{i}]")
            )
            for i, c in enumerate(concept)
        ], True
    coding = params.coding()
    if coding is not None:
        return [
            CodingInput(
                coding.system, coding.version, coding.code or "", coding.display, Path("Coding")
            )
        ], False
    code = params.text("code")
    if not code:
        raise InvalidInput(
            "Unable to find code to validate (looked for coding | codeableConcept | code in "
            "parameters)",
            parameter="code",
        )
    return [
        CodingInput(
            params.text("system"),
            params.text(*version_names),
            code,
            params.text("display"),
            Path(""),
        )
    ], False
