"""``/v1/contextual-search``: every INT_L01 rule of DESIGN §2, as a launch scenario."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from gateway.mappings.component import MappingsComponent
from gateway.settings import (
    AnnuaireSettings,
    MappingsSettings,
    SearchSettings,
    Settings,
    UpstreamSettings,
)
from tests.conftest import AppClient, copy_mappings, make_client, offline_settings

TEST_ORIGIN = "TEST-SAMU000"
DURAND = "urn:oid:1.2.250.1.71.4.2.1|819990000028"
MARTIN_PARIS = "urn:oid:1.2.250.1.71.4.2.1|819990000002"
CARDIO = "urn:oid:1.2.250.1.213.2.28|SM04"


async def resolve(client: AppClient, **params: str) -> dict[str, Any]:
    response = await client.get(
        "/v1/contextual-search/resolve", params={"origin": TEST_ORIGIN, **params}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in body["errors"]]


# origin


async def test_a_listed_active_origin_is_valid_and_flagged_as_test(client: AppClient) -> None:
    body = await resolve(client, inseecode="92036")
    assert body["origin"] == {
        "code": TEST_ORIGIN,
        "valid": True,
        "label": body["origin"]["label"],
        "test": True,
    }
    assert body["errors"] == []


@pytest.mark.parametrize("origin", ["SAMU-UNKNOWN", "TEST-SAMU999", "test-samu000", ""])
async def test_an_unknown_inactive_or_missing_origin_refuses_the_flow(
    client: AppClient, origin: str
) -> None:
    body = await resolve(client, origin=origin, practitioner=DURAND, inseecode="92036")
    assert body["origin"]["valid"] is False
    assert error_codes(body) == ["origin_refused"]
    # Nothing else is resolved for a refused caller.
    assert body["preferred_doctor"] is None
    assert body["location"] is None
    assert body["specialty"] is None


# specialty


async def test_specialty_defaults_to_general_practice_consultation(client: AppClient) -> None:
    body = await resolve(client)
    assert body["specialty"]["label"] == "Consultation de médecine générale"
    assert body["specialty"]["source"] == "default"
    assert body["specialty"]["coding"]["code"] == "SM54"


async def test_an_oid_specialty_gets_its_label_from_the_terminology(client: AppClient) -> None:
    body = await resolve(client, specialty=CARDIO)
    spec = body["specialty"]
    assert spec["coding"] == {
        "system": "urn:oid:1.2.250.1.213.2.28",
        "code": "SM04",
        "display": spec["label"],
    }
    assert spec["label"].startswith("Cardiologie")
    assert spec["searchable"] is True


async def test_free_text_specialty_is_kept_as_text(client: AppClient) -> None:
    body = await resolve(client, specialty="  suture   de plaie ")
    assert body["specialty"] == {
        "label": "suture de plaie",
        "coding": None,
        "source": "text",
        "searchable": True,
        "match": None,
    }


@pytest.mark.parametrize("code", ["XXXX", "SM", "R38SM04", "sm99"])
async def test_an_unknown_code_other_than_an_sm_code_searches_nothing_but_keeps_the_doctor(
    client: AppClient, code: str
) -> None:
    body = await resolve(
        client, specialty=f"urn:oid:1.2.250.1.213.2.28|{code}", practitioner=DURAND
    )
    assert body["specialty"]["searchable"] is False
    assert "unknown_specialty" in error_codes(body)
    assert body["warnings"] == []
    assert body["preferred_doctor"]["status"] == "found"
    assert body["preferred_doctor"]["card"]["locations"]


@pytest.mark.parametrize("code", ["SM99", "SM999", "SM0"])
async def test_an_unknown_sm_code_falls_back_to_the_default_specialty_as_the_sas_does(
    client: AppClient, code: str
) -> None:
    body = await resolve(
        client,
        specialty=f"urn:oid:1.2.250.1.213.2.28|{code}",
        practitioner=DURAND,
        inseecode="92036",
    )
    specialty = body["specialty"]
    assert (specialty["label"], specialty["source"], specialty["searchable"]) == (
        "Consultation de médecine générale",
        "default",
        True,
    )
    assert specialty["coding"]["code"] == "SM54"
    assert body["errors"] == []
    ((warning,),) = [[w for w in body["warnings"]]]
    assert (warning["code"], warning["parameter"]) == ("default_specialty", "specialty")
    assert f"|{code} " in warning["message"]
    assert body["preferred_doctor"]["status"] == "found"


async def test_a_malformed_specialty_urn_is_reported(client: AppClient) -> None:
    body = await resolve(client, specialty="urn:oid:abc|", inseecode="92036")
    assert body["specialty"]["searchable"] is False
    assert error_codes(body) == ["invalid_specialty"]


# preferred doctor (médecin traitant)


async def test_idnps_finds_the_doctor_with_every_practice_location(client: AppClient) -> None:
    body = await resolve(client, practitioner=MARTIN_PARIS, inseecode="48095")
    doctor = body["preferred_doctor"]
    assert doctor["status"] == "found"
    assert doctor["matched_by"] == "idnps"
    # Looked up without geographic filter: Paris and Gennevilliers, searched from Lozère.
    assert {loc["insee"] for loc in doctor["card"]["locations"]} == {"75108", "92036"}


async def test_a_name_matching_one_rpps_finds_the_doctor(client: AppClient) -> None:
    body = await resolve(client, practitioner="Paul Demo-Durand")
    assert body["preferred_doctor"]["status"] == "found"
    assert body["preferred_doctor"]["matched_by"] == "name"
    assert body["preferred_doctor"]["card"]["idnps"] == "819990000028"


async def test_a_name_matching_several_rpps_is_sas_pf_001(client: AppClient) -> None:
    body = await resolve(client, practitioner="DEMO-MARTIN Claire")
    assert body["preferred_doctor"]["status"] == "sas_pf_001"
    assert body["preferred_doctor"]["card"] is None
    assert "several" in body["errors"][0]["message"]


async def test_a_name_matching_nobody_is_sas_pf_001(client: AppClient) -> None:
    body = await resolve(client, practitioner="Zéphyrin Inconnu")
    assert body["preferred_doctor"]["status"] == "sas_pf_001"


@pytest.mark.parametrize(
    "value",
    [
        "urn:oid:1.2.250.1.71.4.2.1|81999000002",  # 10 digits after the 8
        "urn:oid:1.2.250.1.71.4.2.1|719990000028",  # not an IDNPS
        "urn:oid:1.2.250.1.71.4.2.9|819990000028",  # wrong OID
        "urn:oid:1.2.250.1.71.4.2.1819990000028",  # no '|'
        "819990000028",  # bare identifier: INT_L01 wants the token
    ],
)
async def test_a_malformed_identifier_is_sas_pf_001(client: AppClient, value: str) -> None:
    body = await resolve(client, practitioner=value)
    assert body["preferred_doctor"]["status"] == "sas_pf_001"
    assert body["preferred_doctor"]["message"]


async def test_an_unknown_idnps_is_sas_pf_001(client: AppClient) -> None:
    body = await resolve(client, practitioner="urn:oid:1.2.250.1.71.4.2.1|819990000999")
    assert body["preferred_doctor"]["status"] == "sas_pf_001"


@pytest.mark.parametrize("value", [None, "", "   "])
async def test_a_missing_doctor_is_sas_pf_002(client: AppClient, value: str | None) -> None:
    params = {} if value is None else {"practitioner": value}
    body = await resolve(client, inseecode="92036", **params)
    assert body["preferred_doctor"]["status"] == "sas_pf_002"
    assert body["errors"] == []


# address


async def test_inseecode_wins_over_city(client: AppClient) -> None:
    body = await resolve(client, inseecode="48095", city="Gennevilliers")
    assert body["location"]["insee"] == "48095"
    assert body["location"]["departement"] == "48"


async def test_a_blank_inseecode_leaves_the_city(client: AppClient) -> None:
    body = await resolve(client, inseecode="  ", city="Gennevilliers")
    assert body["location"]["insee"] == "92036"
    assert body["errors"] == []


async def test_city_alone_is_located(client: AppClient) -> None:
    body = await resolve(client, city="Gennevilliers")
    assert body["location"]["insee"] == "92036"


async def test_arrondissement_code_keeps_its_code_under_its_city(client: AppClient) -> None:
    body = await resolve(client, inseecode="75117")
    location = body["location"]
    assert (location["insee"], location["city"], location["departement"]) == (
        "75117",
        "Paris",
        "75",
    )
    # The CPTS covering the 17th arrondissement.
    assert [c["finess"] for c in body["cpts"]] == ["759999901"]


async def test_department_defaults_come_from_the_radius_table(client: AppClient) -> None:
    paris = (await resolve(client, inseecode="75108"))["location"]
    lozere = (await resolve(client, inseecode="48095"))["location"]
    table = client.component(MappingsComponent).active.current.radii
    paris_row, lozere_row = table.get("75"), table.get("48")
    assert paris_row is not None
    assert lozere_row is not None
    assert paris["default_radius_km"] == paris_row.default_radius_km
    assert paris["enlargement_km"] == paris_row.enlargement_km
    assert lozere["default_radius_km"] == lozere_row.default_radius_km
    assert paris["default_radius_km"] < lozere["default_radius_km"]
    assert paris["search_type"] == "city"


async def test_street_number_without_street_name_is_an_invalid_address(
    client: AppClient,
) -> None:
    body = await resolve(client, inseecode="92036", streetnumber="12")
    assert body["location"] is None
    assert error_codes(body) == ["invalid_address"]


async def test_a_street_number_without_any_digit_is_ignored(client: AppClient) -> None:
    body = await resolve(client, inseecode="92036", streetnumber="bis")
    assert body["location"]["insee"] == "92036"
    assert body["errors"] == []


@pytest.mark.parametrize("code", ["99999", "7510", "ABCDE"])
async def test_an_unknown_or_malformed_insee_code_is_an_invalid_address(
    client: AppClient, code: str
) -> None:
    body = await resolve(client, inseecode=code, practitioner=DURAND)
    assert body["location"] is None
    assert error_codes(body) == ["invalid_address"]
    assert body["errors"][0]["parameter"] == "inseecode"
    assert body["preferred_doctor"]["status"] == "found"  # the other parts still resolve


@pytest.mark.parametrize("blank", [{}, {"inseecode": " ", "city": "", "streetname": "  "}])
async def test_no_address_at_all_is_missing_address_and_the_rest_still_resolves(
    client: AppClient, blank: dict[str, str]
) -> None:
    body = await resolve(client, practitioner=DURAND, specialty=CARDIO, **blank)
    assert body["location"] is None
    assert error_codes(body) == ["missing_address"]
    message = body["errors"][0]["message"]
    assert "home page" in message
    assert all(name in message for name in ("inseecode", "city", "streetname", "streetnumber"))
    assert body["origin"]["valid"] is True
    assert body["preferred_doctor"]["status"] == "found"
    assert body["specialty"]["label"].startswith("Cardiologie")


GEOCODER = "https://geocoder.test/geocodage"


_12_RUE_EXEMPLE = httpx.Response(
    200,
    json={
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [2.2925, 48.9301]},
                "properties": {
                    "label": "12 Rue Exemple 92230 Gennevilliers",
                    "score": 0.93,
                    "housenumber": "12",
                    "name": "12 Rue Exemple",
                    "postcode": "92230",
                    "citycode": "92036",
                    "city": "Gennevilliers",
                    "type": "housenumber",
                },
            }
        ],
    },
)


def _geocoder_settings() -> Settings:
    geocoder = UpstreamSettings(name="geocoder", url=GEOCODER, retries=0, rate_per_s=1000.0)
    return replace(offline_settings(), geocoder=geocoder)


async def test_a_full_address_is_geocoded_and_only_its_digits_are_sent() -> None:
    with respx.mock(base_url=GEOCODER, assert_all_called=True) as router:
        route = router.get("/search").mock(return_value=_12_RUE_EXEMPLE)
        async with make_client(_geocoder_settings()) as client:
            body = await resolve(
                client, inseecode="92036", streetnumber="12 bis", streetname="rue Exemple"
            )
    query = route.calls.last.request.url.params["q"]
    assert query.startswith("12 rue Exemple")
    assert "bis" not in query
    location = body["location"]
    assert (location["type"], location["search_type"], location["source"]) == (
        "address",
        "address",
        "geocoder",
    )
    assert location["lat"] == pytest.approx(48.9301)


async def test_a_house_number_inside_the_street_name_still_reaches_the_geocoder() -> None:
    with respx.mock(base_url=GEOCODER, assert_all_called=True) as router:
        route = router.get("/search").mock(return_value=_12_RUE_EXEMPLE)
        async with make_client(_geocoder_settings()) as client:
            body = await resolve(client, inseecode="92036", streetname="12 rue Exemple")
    assert route.calls.last.request.url.params["q"].startswith("12 rue Exemple")
    assert body["location"]["type"] == "address"
    assert body["errors"] == []


async def test_the_directory_being_down_is_sas_pf_001_and_says_so() -> None:
    # A card the snapshot does not hold while the Annuaire answers 503.
    annuaire = UpstreamSettings(
        name="annuaire", url="https://annuaire.test/fhir", retries=0, rate_per_s=1000.0
    )
    settings = replace(offline_settings(), annuaire=AnnuaireSettings(annuaire, api_key="k"))
    with respx.mock(base_url="https://annuaire.test/fhir") as router:
        router.route().mock(return_value=httpx.Response(503))
        async with make_client(settings) as client:
            body = await resolve(client, practitioner="urn:oid:1.2.250.1.71.4.2.1|819990000999")
    assert body["preferred_doctor"]["status"] == "sas_pf_001"
    assert "directory_unavailable" in error_codes(body)


# link builder


async def links(client: AppClient, **parameters: str) -> dict[str, Any]:
    response = await client.post("/v1/contextual-search/links", json={"parameters": parameters})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def diagnostics_for(body: dict[str, Any], parameter: str) -> list[tuple[str, str]]:
    return [(d["status"], d["message"]) for d in body["diagnostics"] if d["parameter"] == parameter]


async def test_link_is_canonical_and_encodes_colon_and_pipe(client: AppClient) -> None:
    body = await links(
        client,
        inseecode="75108",
        specialty=CARDIO,
        practitioner=DURAND,
        origin=TEST_ORIGIN,
        streetname="rue de l'Élysée",
        streetnumber="55",
    )
    url = body["url"]
    assert url.startswith("https://sas.sante.fr/sas/recherche?origin=TEST-SAMU000&practitioner=")
    assert "urn%3Aoid%3A1.2.250.1.71.4.2.1%7C819990000028" in url
    assert "specialty=urn%3Aoid%3A1.2.250.1.213.2.28%7CSM04" in url
    assert "|" not in url
    assert " " not in url
    # INT_L01 order, whatever the input order.
    names = [pair.split("=")[0] for pair in urlsplit(url).query.split("&")]
    assert names == [
        "origin",
        "practitioner",
        "specialty",
        "streetnumber",
        "streetname",
        "inseecode",
    ]
    assert parse_qs(urlsplit(url).query)["streetname"] == ["rue de l'Élysée"]
    assert body["valid"] is True
    assert diagnostics_for(body, "practitioner") == [
        ("ok", "practitioner resolves to Dr Paul DEMO-DURAND, 1 practice location")
    ]
    assert diagnostics_for(body, "specialty")[0][1].startswith("resolves to: Cardiologie")


async def test_link_uses_the_configured_sas_url() -> None:
    search = SearchSettings(sas_search_url="https://sas.recette.test/sas/recherche")
    settings = replace(offline_settings(), search=search)
    async with make_client(settings) as client:
        body = await links(client, origin=TEST_ORIGIN)
    assert body["url"] == "https://sas.recette.test/sas/recherche?origin=TEST-SAMU000"


async def test_link_diagnoses_unknown_and_misspelt_parameters(client: AppClient) -> None:
    body = await links(
        client, origin=TEST_ORIGIN, speciality="cardiologue", postcode="92230", inseecode="92036"
    )
    assert diagnostics_for(body, "speciality") == [
        ("error", "'speciality' is not an INT_L01 parameter, did you mean 'specialty'?")
    ]
    ((status, message),) = diagnostics_for(body, "postcode")
    assert status == "ignored"
    assert "not part of INT_L01 and will be ignored" in message
    assert "speciality" not in body["url"]
    assert "postcode" not in body["url"]
    assert body["valid"] is False


async def test_link_normalises_a_bare_idnps_street_number_and_city(client: AppClient) -> None:
    body = await links(
        client,
        origin=TEST_ORIGIN,
        practitioner="819990000028",
        streetnumber="12-14 bis",
        streetname="rue Exemple",
        inseecode="92036",
        city="Gennevilliers",
    )
    assert body["parameters"]["practitioner"] == DURAND
    assert body["parameters"]["streetnumber"] == "12"
    assert "city" not in body["parameters"]
    statuses = {(d["parameter"], d["status"]) for d in body["diagnostics"]}
    assert {("practitioner", "normalised"), ("streetnumber", "normalised")} <= statuses
    assert ("city", "ignored") in statuses
    assert body["valid"] is True


async def test_link_explains_free_text_specialties(client: AppClient) -> None:
    mapped = await links(client, origin=TEST_ORIGIN, specialty="cardiologue")
    assert diagnostics_for(mapped, "specialty") == [
        (
            "ok",
            "free text read as Cardiologie et Maladies vasculaires (SM) (SM04), by a "
            "stewards' synonym",
        )
    ]
    unmapped = await links(client, origin=TEST_ORIGIN, specialty="plombier")
    assert diagnostics_for(unmapped, "specialty")[0][0] == "warning"
    assert "plombier" not in str(unmapped["diagnostics"])


async def test_link_reports_what_the_sas_will_refuse(client: AppClient) -> None:
    body = await links(client, origin="SAMU-NOPE", practitioner=DURAND)
    assert body["valid"] is False
    assert diagnostics_for(body, "origin")[0][0] == "error"


async def test_link_reports_an_invalid_address_and_sas_pf_001(client: AppClient) -> None:
    body = await links(
        client,
        origin=TEST_ORIGIN,
        practitioner="urn:oid:1.2.250.1.71.4.2.1|81",
        streetnumber="3",
        inseecode="92036",
    )
    assert body["valid"] is False
    assert diagnostics_for(body, "practitioner")[0][0] == "error"
    assert diagnostics_for(body, "streetname")[0][0] == "error"


async def test_link_without_any_address_is_invalid_and_says_what_would_locate(
    client: AppClient,
) -> None:
    body = await links(client, origin=TEST_ORIGIN, practitioner=DURAND, specialty=CARDIO)
    assert body["valid"] is False
    ((status, message),) = diagnostics_for(body, "inseecode")
    assert status == "error"
    assert "inseecode (or city)" in message
    assert "streetname and streetnumber" in message
    # the other parameters are still explained
    assert diagnostics_for(body, "practitioner")[0][0] == "ok"
    assert diagnostics_for(body, "specialty")[0][0] == "ok"


async def test_link_explains_the_default_specialty_for_an_unknown_sm_code(
    client: AppClient,
) -> None:
    body = await links(
        client,
        origin=TEST_ORIGIN,
        specialty="urn:oid:1.2.250.1.213.2.28|SM99",
        inseecode="92036",
    )
    ((status, message),) = diagnostics_for(body, "specialty")
    assert status == "warning"
    assert "SM99" in message
    assert "Consultation de médecine générale" in message
    assert body["valid"] is True
    # the launch keeps what the LRM sent: the SAS does the defaulting
    assert body["parameters"]["specialty"] == "urn:oid:1.2.250.1.213.2.28|SM99"


@pytest.mark.parametrize(
    ("street", "number", "name"),
    [
        ("12 rue de la Paix", "12", "rue de la Paix"),
        ("12bis, rue Exemple", "12", "rue Exemple"),
        ("7 allée des Pins", "7", "allée des Pins"),
    ],
)
async def test_link_moves_a_house_number_out_of_the_street_name(
    client: AppClient, street: str, number: str, name: str
) -> None:
    body = await links(client, origin=TEST_ORIGIN, streetname=street, inseecode="92036")
    assert (body["parameters"]["streetnumber"], body["parameters"]["streetname"]) == (
        number,
        name,
    )
    ((status, message),) = diagnostics_for(body, "streetname")
    assert status == "normalised"
    assert "separate streetnumber parameter" in message
    query = parse_qs(urlsplit(body["url"]).query)
    assert (query["streetnumber"], query["streetname"]) == ([number], [name])
    assert body["valid"] is True


@pytest.mark.parametrize(
    "given",
    [
        {"streetname": "rue du 8 Mai 1945"},  # a number inside, not leading
        {"streetname": "12 rue Exemple", "streetnumber": "3"},  # a number given already
    ],
)
async def test_link_leaves_other_street_names_alone(
    client: AppClient, given: dict[str, str]
) -> None:
    body = await links(client, origin=TEST_ORIGIN, inseecode="92036", **given)
    assert body["parameters"]["streetname"] == given["streetname"]
    assert all(status != "normalised" for status, _ in diagnostics_for(body, "streetname"))


async def test_link_body_is_validated(client: AppClient) -> None:
    response = await client.post("/v1/contextual-search/links", json={"parameters": {"a": 1}})
    assert response.status_code == 400
    response = await client.post("/v1/contextual-search/links", json={"nope": {}})
    assert response.status_code == 400


# mappings wiring


async def test_origins_come_from_the_configured_mappings_directory(tmp_path: Path) -> None:
    copy_mappings(tmp_path)
    (tmp_path / "lrm_authorities.csv").write_text(
        "code,label,departement,active,test\nSAMU-92-DEMO,SAMU 92 (test),92,yes,no\n",
        encoding="utf-8",
    )
    settings = replace(offline_settings(), mappings=MappingsSettings(tmp_path))
    async with make_client(settings) as client:
        assert (await resolve(client, origin="SAMU-92-DEMO"))["origin"]["test"] is False
        assert (await resolve(client))["origin"]["valid"] is False
