"""Builders of ROR-shaped FHIR resources (as the ROR answers them) for the CPTS tests."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from gateway.directory.cpts import CommunesOf
from gateway.directory.ror_fhir import TERRITORIAL_DIVISION, TRE_R66
from gateway.geo.communes import CommuneIndex, load_communes

ROR_URL = "https://ror.test/fhir"
TOKEN_URL = "https://auth.ror.test/realms/ror/protocol/openid-connect/token"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}
R201 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R201-TypeDivisionTerritoriale/FHIR/"
    "TRE-R201-TypeDivisionTerritoriale"
)
R13 = "https://mos.esante.gouv.fr/NOS/TRE_R13-Commune/FHIR/TRE-R13-Commune"

#: A tiny commune reference: (TRE_R201 level, code) → INSEE commune codes.
COMMUNES: dict[tuple[int, str], list[str]] = {
    (2, "48"): ["48095", "48061", "48001"],
    (2, "92"): ["92036", "92004", "92009"],
    (1, "94"): ["2A004", "2B033"],
    (4, "4801"): ["48095", "48061"],
}


class FakeCommunes:
    """``communes_of`` over ``COMMUNES`` that records its calls."""

    def __init__(self, mapping: dict[tuple[int, str], list[str]] | None = None) -> None:
        self.mapping = COMMUNES if mapping is None else mapping
        self.calls: list[tuple[int, str]] = []

    def __call__(self, level: int, code: str) -> Iterable[str]:
        self.calls.append((level, code))
        return list(self.mapping.get((level, code), []))

    def same_city(self, insee: str) -> Iterable[str]:
        """Arrondissements as the real commune reference relates them (their only source)."""
        return _reference().same_city(insee)


@cache
def _reference() -> CommuneIndex:
    return load_communes()


def fake_communes() -> CommunesOf:
    return FakeCommunes()


def zone(level: int, code: str) -> dict[str, Any]:
    """A ``ror-territorial-division`` extension shaped like the ROR examples."""
    return {
        "url": TERRITORIAL_DIVISION,
        "extension": [
            {
                "url": "codeTerritorialDivision",
                "valueCodeableConcept": {"coding": [{"system": R13, "code": code}]},
            },
            {
                "url": "typeTerritorialDivision",
                "valueCodeableConcept": {"coding": [{"system": R201, "code": str(level)}]},
            },
        ],
    }


def organization(
    org_id: str,
    name: str,
    *,
    finess: str | None = None,
    phone: str | None = None,
    category: str = "604",
    extensions: list[dict[str, Any]] | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """A ROR Organization typed TRE_R66 ``category``; FINESS given as IDNST ``1`` + FINESS."""
    org: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org_id,
        "name": name,
        "type": [{"coding": [{"system": TRE_R66, "code": category}]}],
        "extension": extensions or [],
    }
    if finess:
        org["identifier"] = [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1" + finess}]
    if phone:
        org["telecom"] = [{"system": "phone", "value": phone}]
    if active is not None:
        org["active"] = active
    return org


def offer(
    service_id: str, org_id: str, *zones: dict[str, Any], active: bool | None = None
) -> dict[str, Any]:
    service: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": service_id,
        "providedBy": {"reference": f"Organization/{org_id}"},
        "extension": list(zones),
    }
    if active is not None:
        service["active"] = active
    return service


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    """One ROR search page: no ``total`` (never relied on), a ``next`` link when given."""
    links = [{"relation": "self", "url": f"{ROR_URL}/Organization"}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{ROR_URL}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match" if r["resourceType"] == "Organization" else "include"},
            }
            for r in resources
        ],
    }
