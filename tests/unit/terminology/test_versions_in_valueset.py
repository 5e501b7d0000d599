"""Several versions of one code system in one value set, supplements and status issues,
over small in-memory resources (the HL7 suites cover them too, when present)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.errors import UnknownCodeSystem
from gateway.terminology.checker import CodingInput, Options
from gateway.terminology.context import Finder, RequestContext
from gateway.terminology.engine import expand_all
from gateway.terminology.issues import Path
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.store import TerminologyStore
from gateway.terminology.validate_code import validate_in_valueset
from tests.samples import codesystem, valueset

CS = "https://example.test/CodeSystem/nos"
VS = "https://example.test/ValueSet/nos"
SUPPLEMENT = "https://example.test/CodeSystem/nos-fr"


def _finder(*resources: dict[str, Any]) -> Finder:
    store = TerminologyStore()
    for resource in resources:
        store.load_bytes(json.dumps(resource).encode(), "test")
    return Finder(ResourceResolver(store), RequestContext())


V1 = codesystem(CS, [{"code": "A", "display": "A one"}, {"code": "B", "display": "B"}], version="1")
V2 = codesystem(CS, [{"code": "A", "display": "A two"}, {"code": "C", "display": "C"}], version="2")


def _both(**compose: Any) -> dict[str, Any]:
    include = [{"system": CS, "version": "1"}, {"system": CS, "version": "2"}]
    return valueset(VS, {"include": include, **compose}, version="5")


async def _expansion(finder: Finder) -> list[tuple[str | None, str, str]]:
    vs, _ = await finder.valueset(VS)
    assert vs is not None
    resolution = await finder.closure(vs)
    items = expand_all(vs, resolution.closure, finder.resolver.store.aliases)
    return sorted((i.version, i.code, i.display) for i in items)


async def test_each_included_version_contributes_its_own_codes_and_displays() -> None:
    finder = _finder(V1, V2, _both())
    assert await _expansion(finder) == [
        ("1", "A", "A one"),
        ("1", "B", "B"),
        ("2", "A", "A two"),
        ("2", "C", "C"),
    ]


async def test_an_exclude_removes_only_the_version_it_names() -> None:
    exclude = [{"system": CS, "version": "1", "concept": [{"code": "A"}]}]
    finder = _finder(V1, V2, _both(exclude=exclude))
    assert [(v, c) for v, c, _ in await _expansion(finder)] == [("1", "B"), ("2", "A"), ("2", "C")]


async def test_versions_match_merges_the_versions() -> None:
    merged = _both()
    merged["compose"]["extension"] = [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter",
            "extension": [
                {"url": "name", "valueCode": "versionsMatch"},
                {"url": "value", "valueString": "true"},
            ],
        }
    ]
    finder = _finder(V1, V2, merged)
    assert [(v, c) for v, c, _ in await _expansion(finder)] == [("1", "B"), ("2", "A"), ("2", "C")]


async def test_a_version_an_imported_value_set_brings_is_kept_apart() -> None:
    inner = valueset(VS + "-v2", {"include": [{"system": CS, "version": "2"}]}, version="1")
    outer = valueset(
        VS, {"include": [{"system": CS, "version": "1"}, {"valueSet": [VS + "-v2"]}]}, version="5"
    )
    finder = _finder(V1, V2, inner, outer)
    assert [(v, c) for v, c, _ in await _expansion(finder)] == [
        ("1", "A"),
        ("1", "B"),
        ("2", "A"),
        ("2", "C"),
    ]
    vs, _ = await finder.valueset(VS)
    assert vs is not None
    coding = CodingInput(CS, "1", "A", None, Path("Coding"))
    report = await validate_in_valueset(finder, vs, [coding], Options(), codeable_concept=False)
    assert report.result is True


@pytest.mark.parametrize(
    ("version", "code", "display", "expected"),
    [
        (None, "A", None, (True, "2")),  # in both: the latest
        (None, "A", "A one", (True, "1")),  # the version whose display it is
        (None, "B", None, (True, "1")),  # only version 1 has it
        ("1", "C", None, (False, "1")),  # C is a member, but of version 2
    ],
)
async def test_a_coding_is_validated_against_the_version_that_has_it(
    version: str | None, code: str, display: str | None, expected: tuple[bool, str]
) -> None:
    finder = _finder(V1, V2, _both())
    vs, _ = await finder.valueset(VS)
    assert vs is not None
    coding = CodingInput(CS, version, code, display, Path("Coding"))
    report = await validate_in_valueset(finder, vs, [coding], Options(), codeable_concept=False)
    assert (report.result, report.version) == expected


async def _designations(finder: Finder) -> list[str]:
    cs, _ = await finder.codesystem(CS, None)
    concept = cs.get("A") if cs is not None else None
    assert concept is not None
    return [d.value for d in concept.designations]


async def test_a_supplement_adds_designations_only_when_asked_for() -> None:
    supplement = {
        "resourceType": "CodeSystem",
        "url": SUPPLEMENT,
        "version": "1",
        "status": "active",
        "content": "supplement",
        "supplements": CS,
        "concept": [{"code": "A", "designation": [{"language": "fr", "value": "A un"}]}],
    }
    finder = _finder(V2, supplement)
    assert await _designations(finder) == []
    await finder.use_supplements([SUPPLEMENT])
    assert await _designations(finder) == ["A un"]
    with pytest.raises(UnknownCodeSystem, match="Required supplement not found"):
        await finder.use_supplements([SUPPLEMENT + "-x"])


async def test_a_draft_code_system_used_is_reported_as_information() -> None:
    draft = dict(V2, status="draft")
    vs_one = valueset(VS, {"include": [{"system": CS}]})
    finder = _finder(draft, vs_one)
    vs, _ = await finder.valueset(VS)
    assert vs is not None
    coding = CodingInput(CS, None, "A", None, Path("Coding"))
    report = await validate_in_valueset(finder, vs, [coding], Options(), codeable_concept=False)
    assert report.result is True
    assert [(i.severity, i.tx_type) for i in report.issues] == [("information", "status-check")]
