"""The shared FHIR datatypes and Bundle envelope decode real-shaped payloads, tolerantly."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from gateway.fhir import (
    Bundle,
    CodeableConcept,
    Coding,
    ContactPoint,
    Extension,
    Reference,
    bundle_entries,
    resource_type,
)
from gateway.settings import DEMO_SNAPSHOT_DIR

DEMO_CPTS = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-cpts-boucle-nord-92.json"
DEMO_PRACTITIONERS = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-practitioners.json"
INSEE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
DIVISION = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-territorial-division"


class _Holder(msgspec.Struct, rename="camel"):
    """A resource reduced to the shared members the clients read."""

    resource_type: str = ""
    extension: list[Extension] = []
    telecom: list[ContactPoint] = []
    type: list[CodeableConcept] = []
    provided_by: Reference | None = None


class _Address(msgspec.Struct):
    extension: list[Extension] = []


class _Organization(msgspec.Struct):
    address: list[_Address] = []
    telecom: list[ContactPoint] = []


def test_a_ror_search_page_decodes_with_nested_extensions() -> None:
    bundle = msgspec.json.decode(DEMO_CPTS.read_bytes(), type=Bundle)
    assert bundle.resource_type == "Bundle"
    assert bundle.next_url() is None  # only a "self" link
    holders = [msgspec.json.decode(raw, type=_Holder) for raw in bundle.resources()]
    assert [h.resource_type for h in holders] == ["Organization", "HealthcareService"]
    org, service = holders
    assert org.type[0].coding[0].code == "604"
    assert service.provided_by == Reference("Organization/demo-cpts-boucle-nord-92")
    divisions = [e for e in service.extension if e.url == DIVISION]
    parts = [{sub.url: sub.value_codeable_concept for sub in d.extension} for d in divisions]
    codes = {
        part["codeTerritorialDivision"].coding[0].code
        for part in parts
        if part["codeTerritorialDivision"] is not None
    }
    assert "92036" in codes


def test_an_annuaire_bundle_yields_every_entry_as_raw_json() -> None:
    data = DEMO_PRACTITIONERS.read_bytes()
    entries, next_url = bundle_entries(data)
    expected = json.loads(data)["entry"]
    assert len(entries) == len(expected) > 0
    assert [resource_type(raw) for raw in entries] == [
        e["resource"]["resourceType"] for e in expected
    ]
    assert next_url is None


def test_unknown_members_are_ignored_and_required_ones_may_be_missing() -> None:
    ext = msgspec.json.decode(
        b'{"valueString": "96", "id": "x", "valueQuantity": {"value": 1}}', type=Extension
    )
    assert ext == Extension(value_string="96")  # no url: decodes, matches no known extension
    point = msgspec.json.decode(
        b'{"system": "phone", "value": "0450636363", "rank": 1}', type=ContactPoint
    )
    assert point == ContactPoint("phone", "0450636363")


def test_codings_re_encode_without_absent_members() -> None:
    # The terminology engine re-encodes codings in its answers.
    concept = CodeableConcept([Coding(system="urn:x", code="604")])
    assert msgspec.json.encode(concept) == b'{"coding":[{"system":"urn:x","code":"604"}]}'
    assert msgspec.json.encode(Extension(url="u", value_code="1")) == b'{"url":"u","valueCode":"1"}'


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ([], None),
        ([{"relation": "self", "url": "a"}], None),
        ([{"relation": "next", "url": ""}], None),  # following it would re-read this page
        ([{"relation": "self", "url": "a"}, {"relation": "next", "url": "b"}], "b"),
    ],
)
def test_next_url(links: list[dict[str, str]], expected: str | None) -> None:
    body = {"resourceType": "Bundle", "link": links}
    assert msgspec.json.decode(json.dumps(body), type=Bundle).next_url() == expected


def test_total_is_never_read_so_a_bogus_one_cannot_fail() -> None:
    body = b'{"resourceType": "Bundle", "total": "many", "entry": [{"resource": {"id": "1"}}]}'
    assert msgspec.json.decode(body, type=Bundle).resources() == [b'{"id": "1"}']


def test_entries_without_a_resource_are_skipped() -> None:
    body = b'{"resourceType":"Bundle","entry":[{"fullUrl":"x"},{"resource":{"id":"2"}}]}'
    bundle = msgspec.json.decode(body, type=Bundle)
    assert bundle.entry[0].full_url == "x"
    assert bundle.resources() == [b'{"id":"2"}']


def test_resource_type_of_non_json_raises() -> None:
    with pytest.raises(msgspec.DecodeError):
        resource_type(b"<html>")


# --- the ANS reference examples, when ../shared/reference is present ----------------------


def test_annuaire_examples_carry_the_insee_extension_and_telecom(reference_dir: Path) -> None:
    path = reference_dir / "annuaire" / "examples" / "Organization-158480DP.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")

    org = msgspec.json.decode(path.read_bytes(), type=_Organization)
    (insee,) = [e for e in org.address[0].extension if e.url == INSEE]
    assert insee.value_coding is not None
    assert insee.value_coding.code == "75114"
    assert ContactPoint("phone", "0450636363") in org.telecom


def test_every_reference_bundle_decodes(reference_dir: Path) -> None:
    paths = sorted(reference_dir.glob("*/examples/Bundle-*.json"))
    if not paths:
        pytest.skip(f"no Bundle example under {reference_dir}")
    for path in paths:
        data = path.read_bytes()
        bundle = msgspec.json.decode(data, type=Bundle)
        assert bundle.resource_type == "Bundle", path.name
        assert len(bundle.resources()) == len(json.loads(data).get("entry", [])), path.name
        for raw in bundle.resources():
            assert resource_type(raw), path.name
