"""Realistic FHIR payloads for tests, shaped like the SMT's (see ../shared/reference/nos).

Built from the bundled demo snapshot (hand-written, same format as the SMT's current
exports) so the tests run without ../shared.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from gateway.settings import DEMO_SNAPSHOT_DIR

TRE_R38 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
)
TRE_G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
JDV_J239 = (
    "https://mos.esante.gouv.fr/NOS/JDV_J239-SpecialitesSNP-SAS/FHIR/JDV-J239-SpecialitesSNP-SAS"
)
R38_OID = "urn:oid:1.2.250.1.213.2.28"
G15_OID = "urn:oid:1.2.250.1.71.1.2.7"


def demo_resource(name: str) -> dict[str, Any]:
    path = DEMO_SNAPSHOT_DIR / "terminology" / name
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def smt_tre_r38(version: str = "20260730120000", **display_overrides: str) -> dict[str, Any]:
    """TRE_R38 as the SMT would publish a newer version of it."""
    resource = copy.deepcopy(demo_resource("CodeSystem-TRE_R38.json"))
    resource["version"] = version
    resource["title"] = "Spécialité ordinale"
    resource["meta"] = {"versionId": "9", "lastUpdated": "2026-07-29T08:03:40.798+02:00"}
    for concept in resource["concept"]:
        if concept["code"] in display_overrides:
            concept["display"] = display_overrides[concept["code"]]
    return resource


def codesystem(
    url: str,
    concepts: list[dict[str, Any]],
    *,
    version: str = "1",
    oid: str | None = None,
    case_sensitive: bool = False,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem",
        "url": url,
        "version": version,
        "name": "Test",
        "status": "active",
        "caseSensitive": case_sensitive,
        "content": "complete",
        "concept": concepts,
    }
    if oid:
        resource["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{oid}"}]
    return resource


def valueset(url: str, compose: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "url": url,
        "version": version,
        "status": "active",
        "compose": compose,
    }
