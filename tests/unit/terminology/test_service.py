"""``TerminologyService``: one answer shape (``Resolved``) for every operation, and labels."""

from __future__ import annotations

import json

import pytest

from gateway.cache import CacheState, Resolved
from gateway.coded import CodeDisplay
from gateway.errors import UpstreamUnavailable
from gateway.terminology.resolver import ResourceResolver
from gateway.terminology.service import TerminologyService
from gateway.terminology.store import TerminologyStore
from tests.samples import codesystem, valueset

CS = "https://example.test/CodeSystem/animals"
VS = "https://example.test/ValueSet/animals"


def service() -> TerminologyService:
    store = TerminologyStore()
    concepts = [{"code": "CHA", "display": "Chat"}, {"code": "OIS"}]
    for resource in (
        codesystem(CS, concepts, oid="9.9.9"),
        valueset(VS, {"include": [{"system": CS}]}),
    ):
        store.load_bytes(json.dumps(resource).encode(), "test")
    return TerminologyService(ResourceResolver(store))


async def test_every_operation_answers_resolved_with_a_state() -> None:
    svc = service()
    answers = [
        await svc.lookup(CS, "CHA"),
        await svc.validate_code(CS, "CHA"),
        await svc.expand(VS),
        await svc.validate_in_valueset(VS, code="CHA", system=CS),
        await svc.translate(system=CS, code="CHA"),
        await svc.search("chat"),
        await svc.label(CS, "CHA"),
    ]
    assert all(isinstance(a, Resolved) and a.state is CacheState.HIT for a in answers)
    lookup, expand = answers[0].value, answers[2].value
    assert (lookup.codesystem.url, lookup.concept.display) == (CS, "Chat")
    assert (expand.valueset.url, expand.page.total) == (VS, 2)


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        (CS, "CHA", CodeDisplay("CHA", "Chat")),
        ("urn:oid:9.9.9", "cha", CodeDisplay("CHA", "Chat")),  # the code system's own case
        (CS, "OIS", CodeDisplay("OIS", "OIS")),  # no display: the code
        (CS, "NOPE", CodeDisplay("NOPE", "NOPE")),  # unknown code: shown as is
        ("https://example.test/none", "X", CodeDisplay("X", "X")),  # unknown system
    ],
)
async def test_label_is_the_display_or_else_the_code(
    system: str, code: str, expected: CodeDisplay
) -> None:
    assert (await service().label(system, code)).value == expected


async def test_label_survives_an_unreachable_terminology(monkeypatch: pytest.MonkeyPatch) -> None:
    svc = service()

    async def down(*_: object, **__: object) -> None:
        raise UpstreamUnavailable("SMT down", upstream="smt")

    monkeypatch.setattr(svc, "lookup", down)
    assert await svc.label(CS, "CHA") == Resolved(CodeDisplay("CHA", "CHA"), CacheState.STALE)


async def test_value_sets_of_a_code_are_stale_when_one_could_not_be_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = service()
    found = await svc.valuesets_containing(CS, "CHA")
    assert ([vs.url for vs in found.value], found.state) == ([VS], CacheState.HIT)

    async def failing(*_: object, **__: object) -> None:
        raise UpstreamUnavailable("SMT down", upstream="smt")

    monkeypatch.setattr(svc.resolver, "closure", failing)
    partial = await svc.valuesets_containing(CS, "CHA")
    assert (partial.value, partial.state) == ([], CacheState.STALE)  # may be missing one
