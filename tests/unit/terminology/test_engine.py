"""The local engine over small in-memory resources (no reference data needed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.errors import InvalidInput, UnknownCode, UnknownCodeSystem, UnsupportedOperation
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.service import TerminologyService
from gateway.terminology.store import TerminologyStore
from tests.samples import codesystem, valueset

CS = "https://example.test/CodeSystem/animals"
OTHER = "https://example.test/CodeSystem/colours"


def _concept(code: str, display: str, *children: dict[str, Any], **props: str) -> dict[str, Any]:
    concept: dict[str, Any] = {"code": code, "display": display}
    if children:
        concept["concept"] = list(children)
    if props:
        concept["property"] = [{"code": k, "valueCode": v} for k, v in props.items()]
    return concept


ANIMALS = codesystem(
    CS,
    [
        _concept(
            "MAM",
            "Mammifère",
            _concept("CHI", "Chien de garde"),
            _concept("CHA", "Chat domestique", family="felin"),
        ),
        _concept("OIS", "Oiseau"),
        _concept("DIN", "Dinosaure", status="retired"),
    ],
    oid="9.9.9",
)
COLOURS = codesystem(OTHER, [_concept("R", "Rouge"), _concept("V", "Vert")], version="2")


def service_with(*resources: dict[str, Any]) -> TerminologyService:
    store = TerminologyStore()
    for resource in resources:
        store.load_bytes(json.dumps(resource).encode(), "test")
    return TerminologyService(ResourceResolver(store))


async def test_lookup_flattens_hierarchy_and_reports_parent() -> None:
    svc = service_with(ANIMALS)
    found = (await svc.lookup("urn:oid:9.9.9", "CHA")).value
    cs, concept = found.codesystem, found.concept
    assert cs.url == CS
    assert concept.display == "Chat domestique"
    assert concept.parent == "MAM"
    assert not concept.inactive


async def test_lookup_is_case_insensitive_when_code_system_says_so() -> None:
    svc = service_with(ANIMALS)
    concept = (await svc.lookup(CS, "cha")).value.concept
    assert concept.code == "CHA"


async def test_lookup_is_case_sensitive_when_code_system_says_so() -> None:
    strict = codesystem(CS, [_concept("ABC", "x")], case_sensitive=True)
    svc = service_with(strict)
    with pytest.raises(UnknownCode):
        await svc.lookup(CS, "abc")


async def test_retired_status_makes_a_concept_inactive() -> None:
    svc = service_with(ANIMALS)
    concept = (await svc.lookup(CS, "DIN")).value.concept
    assert concept.inactive
    assert concept.status == "retired"


async def test_unknown_code_and_unknown_system_are_distinct_errors() -> None:
    svc = service_with(ANIMALS)
    with pytest.raises(UnknownCode):
        await svc.lookup(CS, "NOPE")
    with pytest.raises(UnknownCodeSystem):
        await svc.lookup("https://example.test/none", "CHA")


async def test_validate_code_checks_display_accent_and_case_insensitively() -> None:
    svc = service_with(ANIMALS)
    ok = await svc.validate_code(CS, "CHA", display="chat DOMESTIQUE")
    assert ok.value.result
    wrong = await svc.validate_code(CS, "CHA", display="Chien")
    assert not wrong.value.result
    assert "Chat domestique" in (wrong.value.message or "")
    unknown = await svc.validate_code(CS, "ZZZ")
    assert not unknown.value.result


async def test_validate_code_accepts_inactive_code_with_a_warning() -> None:
    svc = service_with(ANIMALS)
    result = (await svc.validate_code(CS, "DIN")).value
    assert result.result
    assert result.inactive
    assert "inactive" in (result.message or "")


async def test_expand_whole_system_with_total_count_and_offset() -> None:
    vs_url = "https://example.test/ValueSet/all"
    svc = service_with(ANIMALS, valueset(vs_url, {"include": [{"system": CS}]}))
    page = (await svc.expand(vs_url)).value.page
    assert page.total == 5
    assert [i.code for i in page.items] == ["MAM", "CHI", "CHA", "OIS", "DIN"]
    page = (await svc.expand(vs_url, offset=1, count=2)).value.page
    assert page.total == 5
    assert [i.code for i in page.items] == ["CHI", "CHA"]


async def test_expand_active_only_drops_inactive_codes() -> None:
    vs_url = "https://example.test/ValueSet/all"
    svc = service_with(ANIMALS, valueset(vs_url, {"include": [{"system": CS}]}))
    page = (await svc.expand(vs_url, active_only=True)).value.page
    assert "DIN" not in [i.code for i in page.items]
    assert page.total == 4


async def test_expand_filter_is_word_prefix_accent_insensitive() -> None:
    vs_url = "https://example.test/ValueSet/all"
    svc = service_with(ANIMALS, valueset(vs_url, {"include": [{"system": CS}]}))
    page = (await svc.expand(vs_url, text_filter="MAMMIFERE")).value.page
    assert [i.code for i in page.items] == ["MAM"]
    page = (await svc.expand(vs_url, text_filter="gar chi")).value.page
    assert [i.code for i in page.items] == ["CHI"]
    page = (await svc.expand(vs_url, text_filter="omestique")).value.page  # not a word prefix
    assert page.total == 0


async def test_expand_enumerated_concepts_use_the_value_set_display() -> None:
    vs_url = "https://example.test/ValueSet/pets"
    compose = {
        "include": [
            {"system": CS, "concept": [{"code": "CHA", "display": "Chat"}, {"code": "UNKNOWN"}]}
        ]
    }
    svc = service_with(ANIMALS, valueset(vs_url, compose))
    page = (await svc.expand(vs_url)).value.page
    assert [(i.code, i.display) for i in page.items] == [("CHA", "Chat")]
    # the code system's own label still matches a filter
    page = (await svc.expand(vs_url, text_filter="domestique")).value.page
    assert page.total == 1


async def test_expand_exclude_and_is_a_filter() -> None:
    vs_url = "https://example.test/ValueSet/mammals"
    compose = {
        "include": [
            {"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "MAM"}]}
        ],
        "exclude": [{"system": CS, "concept": [{"code": "CHI"}]}],
    }
    svc = service_with(ANIMALS, valueset(vs_url, compose))
    page = (await svc.expand(vs_url)).value.page
    assert [i.code for i in page.items] == ["MAM", "CHA"]


async def test_expand_property_equality_filter() -> None:
    vs_url = "https://example.test/ValueSet/felins"
    compose = {
        "include": [{"system": CS, "filter": [{"property": "family", "op": "=", "value": "felin"}]}]
    }
    svc = service_with(ANIMALS, valueset(vs_url, compose))
    page = (await svc.expand(vs_url)).value.page
    assert [i.code for i in page.items] == ["CHA"]


async def test_unsupported_filter_operator_is_a_clear_422() -> None:
    vs_url = "https://example.test/ValueSet/odd"
    compose = {
        "include": [
            {"system": CS, "filter": [{"property": "concept", "op": "generalizes", "value": "CHA"}]}
        ]
    }
    svc = service_with(ANIMALS, valueset(vs_url, compose))
    with pytest.raises(UnsupportedOperation) as caught:
        await svc.expand(vs_url)
    assert caught.value.status_code == 422


async def test_expand_combines_systems_and_nested_value_sets() -> None:
    inner = "https://example.test/ValueSet/colours"
    outer = "https://example.test/ValueSet/mix"
    svc = service_with(
        ANIMALS,
        COLOURS,
        valueset(inner, {"include": [{"system": OTHER}]}),
        valueset(
            outer,
            {"include": [{"valueSet": [inner]}, {"system": CS, "concept": [{"code": "OIS"}]}]},
        ),
    )
    page = (await svc.expand(outer)).value.page
    assert sorted((i.system, i.code) for i in page.items) == [
        (CS, "OIS"),
        (OTHER, "R"),
        (OTHER, "V"),
    ]


async def test_expand_reports_missing_code_system_for_whole_system_include() -> None:
    vs_url = "https://example.test/ValueSet/broken"
    svc = service_with(valueset(vs_url, {"include": [{"system": "https://example.test/none"}]}))
    with pytest.raises(UnknownCodeSystem):
        await svc.expand(vs_url)


async def test_expand_rejects_negative_offset() -> None:
    vs_url = "https://example.test/ValueSet/all"
    svc = service_with(ANIMALS, valueset(vs_url, {"include": [{"system": CS}]}))
    with pytest.raises(InvalidInput) as caught:
        await svc.expand(vs_url, offset=-1)
    assert caught.value.parameter == "offset"


async def test_validate_in_value_set_by_oid_system() -> None:
    vs_url = "https://example.test/ValueSet/pets"
    compose = {"include": [{"system": CS, "concept": [{"code": "CHA", "display": "Chat"}]}]}
    svc = service_with(ANIMALS, valueset(vs_url, compose))
    inside = await svc.validate_in_valueset(vs_url, code="CHA", system="urn:oid:9.9.9")
    assert inside.value.result
    outside = await svc.validate_in_valueset(vs_url, code="CHI", system=CS)
    assert not outside.value.result
    # either the value set's display or the code system's display is acceptable
    display = await svc.validate_in_valueset(
        vs_url, code="CHA", system=CS, display="Chat domestique"
    )
    assert display.value.result


async def test_translate_over_a_loaded_concept_map() -> None:
    cmap = {
        "resourceType": "ConceptMap",
        "url": "https://example.test/ConceptMap/animal-colour",
        "version": "1",
        "status": "active",
        "group": [
            {
                "source": CS,
                "target": OTHER,
                "element": [
                    {
                        "code": "CHA",
                        "target": [{"code": "R", "display": "Rouge", "equivalence": "equivalent"}],
                    },
                    {"code": "OIS", "target": [{"equivalence": "unmatched"}]},
                ],
            }
        ],
    }
    svc = service_with(ANIMALS, COLOURS, cmap)
    matches = (await svc.translate(system="urn:oid:9.9.9", code="CHA")).value
    assert [(m.system, m.code, m.equivalence) for m in matches] == [(OTHER, "R", "equivalent")]
    assert (await svc.translate(system=CS, code="OIS")).value == []
    assert (await svc.translate(system=CS, code="CHA", target="https://example.test/x")).value == []


async def test_include_and_exclude_match_the_system_through_any_alias() -> None:
    by_oid = "https://example.test/ValueSet/ex-oid"
    twice = "https://example.test/ValueSet/twice"
    svc = service_with(
        ANIMALS,
        valueset(
            by_oid,
            {
                "include": [{"system": CS}],
                "exclude": [
                    {"system": "urn:oid:9.9.9", "concept": [{"code": "OIS"}]},
                    {"system": CS + "/", "concept": [{"code": "DIN"}]},
                ],
            },
        ),
        valueset(
            twice,
            {
                "include": [
                    {"system": CS, "concept": [{"code": "CHA"}]},
                    {"system": "9.9.9", "concept": [{"code": "CHA"}]},
                ]
            },
        ),
    )
    page = (await svc.expand(by_oid)).value.page
    assert [i.code for i in page.items] == ["MAM", "CHI", "CHA"]
    assert not (await svc.validate_in_valueset(by_oid, code="OIS", system=CS)).value.result
    page = (await svc.expand(twice)).value.page
    assert [i.code for i in page.items] == ["CHA"]


async def test_stored_expansion_stands_in_for_a_code_system_we_do_not_hold() -> None:
    vs_url = "https://example.test/ValueSet/synced"
    synced = valueset(vs_url, {"include": [{"system": "https://example.test/CodeSystem/absent"}]})
    synced["expansion"] = {
        "total": 1,
        "contains": [
            {"system": "https://example.test/CodeSystem/absent", "code": "Z", "display": "Zèbre"}
        ],
    }
    svc = service_with(synced)
    page = (await svc.expand(vs_url, text_filter="zebre")).value.page
    assert [(i.code, i.display) for i in page.items] == [("Z", "Zèbre")]
    found = await svc.search("zebre", valueset=vs_url)
    assert [m.code for m in found.value] == ["Z"]


async def test_invalid_regex_in_a_value_set_is_a_clear_422() -> None:
    vs_url = "https://example.test/ValueSet/bad-regex"
    compose = {
        "include": [
            {"system": CS, "filter": [{"property": "code", "op": "regex", "value": "(unclosed"}]}
        ]
    }
    svc = service_with(ANIMALS, valueset(vs_url, compose))
    with pytest.raises(UnsupportedOperation, match="invalid regex"):
        await svc.expand(vs_url)
