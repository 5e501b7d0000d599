"""The FHIR facade over the bundled demo snapshot (offline), through HTTP."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.settings import Settings, TerminologySettings
from tests.conftest import AppClient, make_client
from tests.integration.fhir_validation import assert_valid_fhir, param
from tests.samples import JDV_J239, R38_OID, TRE_R38

Client = AppClient
FHIR = "application/fhir+json"


def parameters(**values: Any) -> dict[str, Any]:
    out = []
    for name, value in values.items():
        if isinstance(value, dict):
            out.append({"name": name, "valueCoding": value})
        elif isinstance(value, bool):
            out.append({"name": name, "valueBoolean": value})
        elif isinstance(value, int):
            out.append({"name": name, "valueInteger": value})
        else:
            out.append({"name": name, "valueString": value})
    return {"resourceType": "Parameters", "parameter": out}


async def test_metadata_is_a_valid_capability_statement(client: Client) -> None:
    response = await client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR)
    body = response.json()
    assert_valid_fhir(body, "CapabilityStatement")
    ops = {op["name"] for r in body["rest"][0]["resource"] for op in r["operation"]}
    assert ops == {"lookup", "validate-code", "expand", "translate"}


async def test_metadata_terminology_mode_lists_code_systems(client: Client) -> None:
    body = (await client.get("/fhir/metadata", params={"mode": "terminology"})).json()
    assert_valid_fhir(body, "TerminologyCapabilities")
    assert TRE_R38 in {cs["uri"] for cs in body["codeSystem"]}


async def test_lookup_get_and_post_agree(client: Client) -> None:
    got = await client.get("/fhir/CodeSystem/$lookup", params={"system": R38_OID, "code": "SM54"})
    posted = await client.post(
        "/fhir/CodeSystem/$lookup", json=parameters(coding={"system": R38_OID, "code": "SM54"})
    )
    assert got.status_code == posted.status_code == 200
    assert got.json() == posted.json()
    body = got.json()
    assert_valid_fhir(body, "Parameters")
    assert param(body, "display") == "Médecine générale (SM)"
    assert param(body, "system") == TRE_R38
    inactive = next(
        p
        for p in body["parameter"]
        if p["name"] == "property" and p["part"][0]["valueCode"] == "inactive"
    )
    assert inactive["part"][1]["valueBoolean"] is False


async def test_lookup_property_filter_limits_properties(client: Client) -> None:
    body = (
        await client.get(
            "/fhir/CodeSystem/$lookup",
            params={"system": TRE_R38, "code": "SP01", "property": "inactive"},
        )
    ).json()
    props = [p for p in body["parameter"] if p["name"] == "property"]
    assert [p["part"][0]["valueCode"] for p in props] == ["inactive"]
    assert props[0]["part"][1]["valueBoolean"] is True


async def test_lookup_unknown_code_is_404_operation_outcome(client: Client) -> None:
    response = await client.get(
        "/fhir/CodeSystem/$lookup", params={"system": R38_OID, "code": "NOPE"}
    )
    assert response.status_code == 404
    body = response.json()
    assert_valid_fhir(body, "OperationOutcome")
    assert body["issue"][0]["code"] == "code-invalid"
    assert "NOPE" in body["issue"][0]["details"]["text"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"code": "SM54"}, "system"),
        ({"system": R38_OID}, "code"),
        ({"system": R38_OID, "coding": "no-pipe"}, "coding"),
    ],
)
async def test_lookup_malformed_input_is_400_naming_the_parameter(
    client: Client, params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/fhir/CodeSystem/$lookup", params=params)
    assert response.status_code == 400
    body = response.json()
    assert_valid_fhir(body, "OperationOutcome")
    assert body["issue"][0]["expression"] == [parameter]


async def test_validate_code_wrong_display_is_result_false(client: Client) -> None:
    response = await client.get(
        "/fhir/CodeSystem/$validate-code",
        params={"url": R38_OID, "code": "SM54", "display": "Cardiologie"},
    )
    assert response.status_code == 200
    body = response.json()
    assert_valid_fhir(body, "Parameters")
    assert param(body, "result") is False
    assert "Médecine générale" in param(body, "message")


async def test_validate_code_post_parameters(client: Client) -> None:
    response = await client.post(
        "/fhir/CodeSystem/$validate-code",
        json=parameters(url=TRE_R38, code="SM54", display="Médecine générale"),
    )
    assert param(response.json(), "result") is True


async def test_expand_with_filter_count_and_offset(client: Client) -> None:
    response = await client.get(
        "/fhir/ValueSet/$expand",
        params={"url": JDV_J239, "filter": "psychiatrie", "count": "1", "offset": "1"},
    )
    assert response.status_code == 200
    body = response.json()
    assert_valid_fhir(body, "ValueSet")
    assert body["expansion"]["total"] == 2
    assert [c["code"] for c in body["expansion"]["contains"]] == ["SM43"]
    assert {"name": "filter", "valueString": "psychiatrie"} in body["expansion"]["parameter"]


async def test_expand_post_equals_get(client: Client) -> None:
    got = (
        await client.get("/fhir/ValueSet/$expand", params={"url": JDV_J239, "filter": "gyneco"})
    ).json()
    posted = (
        await client.post("/fhir/ValueSet/$expand", json=parameters(url=JDV_J239, filter="gyneco"))
    ).json()
    got["expansion"].pop("timestamp")
    posted["expansion"].pop("timestamp")
    assert got == posted
    assert [c["code"] for c in got["expansion"]["contains"]] == ["SM19", "SM20"]


async def test_expand_active_only_and_designations(client: Client) -> None:
    body = (
        await client.get(
            "/fhir/ValueSet/$expand",
            params={
                "url": "JDV_J229",
                "filter": "chirurgien",
                "includeDesignations": "true",
                "activeOnly": "true",
            },
        )
    ).json()
    assert [c["code"] for c in body["expansion"]["contains"]] == ["40"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"url": JDV_J239, "count": "abc"}, "count"),
        ({"url": JDV_J239, "offset": "-3"}, "offset"),
        ({"url": JDV_J239, "activeOnly": "maybe"}, "activeOnly"),
        ({"filter": "x"}, "url"),
    ],
)
async def test_expand_bad_parameters_are_400(
    client: Client, params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/fhir/ValueSet/$expand", params=params)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == [parameter]


async def test_expand_larger_than_the_threshold_header_is_too_costly(client: Client) -> None:
    whole = (await client.get("/fhir/ValueSet/$expand", params={"url": JDV_J239})).json()
    size = len(whole["expansion"]["contains"])
    refused = await client.get(
        "/fhir/ValueSet/$expand",
        params={"url": JDV_J239},
        headers={"X-TOO-COSTLY-THRESHOLD": str(size - 1)},
    )
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert issue["code"] == "too-costly"
    assert f"has {size} codes" in issue["details"]["text"]
    paged = await client.get(
        "/fhir/ValueSet/$expand",
        params={"url": JDV_J239, "count": str(size - 1)},
        headers={"X-TOO-COSTLY-THRESHOLD": str(size - 1)},
    )
    assert paged.status_code == 200
    assert len(paged.json()["expansion"]["contains"]) == size - 1


async def test_expansion_limit_setting_is_not_raised_by_the_header(
    demo_settings: Settings,
) -> None:
    settings = dataclasses.replace(demo_settings, terminology=TerminologySettings(max_expansion=3))
    async with make_client(settings) as limited:
        response = await limited.get(
            "/fhir/ValueSet/$expand",
            params={"url": JDV_J239},
            headers={"X-TOO-COSTLY-THRESHOLD": "100000"},
        )
        assert response.status_code == 422
        assert response.json()["issue"][0]["code"] == "too-costly"
        filtered = await limited.get(
            "/fhir/ValueSet/$expand", params={"url": JDV_J239, "filter": "gyneco"}
        )
        assert filtered.status_code == 200


@pytest.mark.parametrize("header", ["0", "-5", "lots"])
async def test_malformed_threshold_header_is_400(client: Client, header: str) -> None:
    response = await client.get(
        "/fhir/ValueSet/$expand",
        params={"url": JDV_J239},
        headers={"X-TOO-COSTLY-THRESHOLD": header},
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["X-TOO-COSTLY-THRESHOLD"]


async def test_expand_unknown_value_set_is_404(client: Client) -> None:
    response = await client.get("/fhir/ValueSet/$expand", params={"url": "https://x.test/vs"})
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


async def test_value_set_validate_code(client: Client) -> None:
    inside = (
        await client.get(
            "/fhir/ValueSet/$validate-code",
            params={"url": "urn:oid:1.2.250.1.213.3.4.104", "system": R38_OID, "code": "SM54"},
        )
    ).json()
    assert param(inside, "result") is True
    outside = (
        await client.post(
            "/fhir/ValueSet/$validate-code",
            json=parameters(url=JDV_J239, coding={"system": TRE_R38, "code": "SM26"}),
        )
    ).json()
    assert param(outside, "result") is False


async def test_translate_without_concept_maps_is_no_match(client: Client) -> None:
    response = await client.get(
        "/fhir/ConceptMap/$translate", params={"system": R38_OID, "code": "SM54"}
    )
    assert response.status_code == 200
    assert param(response.json(), "result") is False


async def test_search_by_url_returns_the_resource_verbatim(client: Client) -> None:
    response = await client.get("/fhir/CodeSystem", params={"url": R38_OID})
    body = response.json()
    assert_valid_fhir(body, "Bundle")
    assert body["total"] == 1
    resource = body["entry"][0]["resource"]
    assert resource["url"] == TRE_R38
    assert len(resource["concept"]) == 20
    empty = (await client.get("/fhir/ValueSet", params={"url": "https://x.test/none"})).json()
    assert empty["total"] == 0
    assert empty["entry"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"resourceType": "Patient"}',
        b'{"resourceType": "Parameters", "parameter": 3}',
    ],
)
async def test_post_with_a_bad_body_is_400(client: Client, body: bytes) -> None:
    response = await client.post(
        "/fhir/ValueSet/$expand", content=body, headers={"Content-Type": FHIR}
    )
    assert response.status_code == 400
    assert_valid_fhir(response.json(), "OperationOutcome")


@pytest.mark.parametrize(
    "concept",
    [{"coding": "x"}, {"coding": [1]}, {"coding": [{"system": 5}]}, {"coding": {"code": "a"}}],
)
async def test_malformed_codeable_concept_is_400_not_500(
    client: Client, concept: dict[str, Any]
) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": JDV_J239},
            {"name": "codeableConcept", "valueCodeableConcept": concept},
        ],
    }
    response = await client.post("/fhir/ValueSet/$validate-code", json=body)
    assert response.status_code == 400
    assert_valid_fhir(response.json(), "OperationOutcome")


async def test_validate_code_accepts_a_codeable_concept(client: Client) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": JDV_J239},
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {
                    "coding": [{"system": R38_OID, "code": "SM54"}],
                    "text": "MG",
                },
            },
        ],
    }
    response = await client.post("/fhir/ValueSet/$validate-code", json=body)
    assert param(response.json(), "result") is True


async def test_value_set_validation_follows_code_system_case_insensitivity(
    client: Client,
) -> None:
    body = (
        await client.get(
            "/fhir/ValueSet/$validate-code",
            params={"url": JDV_J239, "system": TRE_R38, "code": "sm54"},
        )
    ).json()
    assert param(body, "result") is True
    # the facade echoes the code as given (HL7 tests), saying how the code system spells it;
    # /v1 answers SM54 (tests/integration/test_json_api.py)
    assert param(body, "code") == "sm54"
    issues = next(p["resource"]["issue"] for p in body["parameter"] if p["name"] == "issues")
    assert any("'SM54'" in issue["details"]["text"] for issue in issues)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"url": "|1.0"}, "url"),
        ({"url": JDV_J239, "filter": "x" * 201}, "filter"),
        ({"url": "u" * 1025}, "url"),
    ],
)
async def test_empty_or_oversized_values_are_400(
    client: Client, params: dict[str, str], parameter: str
) -> None:
    response = await client.get("/fhir/ValueSet/$expand", params=params)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == [parameter]


def _inline_valueset(**fields: Any) -> dict[str, Any]:
    resource = {"resourceType": "ValueSet", "status": "active", **fields}
    return {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": resource}]}


@pytest.mark.parametrize(
    "fields",
    [
        {"contained": 5},
        {"contained": [{"resourceType": "ValueSet", "id": "a"}], "compose": {"include": None}},
        {"contained": [{"resourceType": "ValueSet", "id": "a"}], "compose": {"exclude": 3}},
        {
            "compose": {
                "extension": [{"url": "x", "extension": None}],
                "include": [{"system": TRE_R38}],
            }
        },
    ],
)
@pytest.mark.parametrize("operation", ["ValueSet/$expand", "ValueSet/$validate-code"])
async def test_a_malformed_inline_value_set_is_400_or_ignored_never_500(
    client: Client, fields: dict[str, Any], operation: str
) -> None:
    body = _inline_valueset(**fields)
    body["parameter"].append({"name": "coding", "valueCoding": {"system": TRE_R38, "code": "SM54"}})
    response = await client.post(f"/fhir/{operation}", json=body)
    assert response.status_code in (200, 400), response.text


async def test_a_count_above_the_expansion_limit_is_cut_to_it(client: Client) -> None:
    response = await client.get(
        "/fhir/ValueSet/$expand",
        params={"url": JDV_J239, "count": "10"},
        headers={"X-TOO-COSTLY-THRESHOLD": "3"},
    )
    assert response.status_code == 200
    expansion = response.json()["expansion"]
    assert len(expansion["contains"]) == 3
    assert expansion["total"] > 3


async def test_lookup_with_a_supplement_returns_its_designations(client: Client) -> None:
    supplement = {
        "resourceType": "CodeSystem",
        "url": "https://example.test/CodeSystem/tre-r38-en",
        "version": "1",
        "status": "active",
        "content": "supplement",
        "supplements": TRE_R38,
        "concept": [
            {"code": "SM54", "designation": [{"language": "en", "value": "General practice"}]}
        ],
    }
    body = parameters(system=TRE_R38, code="SM54", useSupplement=supplement["url"])
    body["parameter"].append({"name": "tx-resource", "resource": supplement})
    response = await client.post("/fhir/CodeSystem/$lookup", json=body)
    assert response.status_code == 200, response.text
    designations = [
        part.get("valueString")
        for p in response.json()["parameter"]
        if p["name"] == "designation"
        for part in p["part"]
        if part["name"] == "value"
    ]
    assert "General practice" in designations
    plain = await client.post(
        "/fhir/CodeSystem/$lookup", json=parameters(system=TRE_R38, code="SM54")
    )
    assert "General practice" not in plain.text
