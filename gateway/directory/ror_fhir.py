"""msgspec models of the ROR resources the CPTS index reads, and how to read them.

Only the fields used are declared (unknown ones are ignored), and the shape variations seen
in real ROR examples are accepted (a single object where FHIR wants a list). Read here:

* a CPTS is an Organization typed TRE_R66 ``604``, or carrying the SAS IG profile
  ``sas-cpts-organization-aggregator`` (the SAS examples type it on their Slots only);
* its zone: every ``ror-territorial-division`` extension (sub-extensions
  ``typeTerritorialDivision`` from TRE_R201 and ``codeTerritorialDivision``, an INSEE code),
  on the Organization or on the HealthcareServices it provides;
* its FINESS: a FINESS identifier, or an IDNST ``1`` + FINESS;
* its phone: ``telecom`` of the Organization, its offers or their Locations, or the ROR
  contact extension of an offer, public numbers only (confidentiality level 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import msgspec

from gateway.directory.identifiers import is_finess
from gateway.fhir import (
    CodeableConcept,
    ContactPoint,
    Extension,
    Identifier,
    Reference,
    bundle_entries,
    resource_type,
)
from gateway.geo.insee import INSEE_CODE

TERRITORIAL_DIVISION = (
    "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-territorial-division"
)
TRE_R66 = (
    "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/"
    "TRE-R66-CategorieEtablissement"
)
CPTS_CATEGORY = "604"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
SAS_CPTS_PROFILE = "sas-cpts-organization-aggregator"
_CONTACT = "ror-healthcareservice-contact"


class ZoneLevel(StrEnum):
    """TRE_R201 levels, most specific first."""

    COMMUNE = "commune"
    TERRITOIRE = "territoire"
    DEPARTEMENT = "departement"
    REGION = "region"


#: TRE_R201-TypeDivisionTerritoriale code → level.
R201_LEVELS = {
    1: ZoneLevel.REGION,
    2: ZoneLevel.DEPARTEMENT,
    3: ZoneLevel.COMMUNE,
    4: ZoneLevel.TERRITOIRE,
}
R201_CODES = {level: code for code, level in R201_LEVELS.items()}
_ZONE_CODE = {
    ZoneLevel.COMMUNE: INSEE_CODE,
    ZoneLevel.TERRITOIRE: re.compile(r"^[0-9A-Z_.-]{1,20}$"),  # ARS-defined codes
    ZoneLevel.DEPARTEMENT: re.compile(r"^([0-9]{2,3}|2[AB])$"),
    ZoneLevel.REGION: re.compile(r"^[0-9]{2}$"),
}


@dataclass(frozen=True, slots=True)
class Zone:
    level: ZoneLevel
    code: str


class Meta(msgspec.Struct):
    profile: list[str] = []


class _Resource(msgspec.Struct, rename="camel"):
    id: str | None = None
    meta: Meta | None = None
    active: bool | None = None
    name: str | None = None
    extension: list[Extension] = []
    telecom: list[ContactPoint] = []


class Organization(_Resource):
    identifier: list[Identifier] | Identifier = []
    type: list[CodeableConcept] | CodeableConcept = []


class HealthcareService(_Resource):
    provided_by: Reference | None = None
    location: list[Reference] = []


class Location(_Resource):
    pass


FhirResource = Organization | HealthcareService | Location
_MODELS: dict[str, type[FhirResource]] = {
    "Organization": Organization,
    "HealthcareService": HealthcareService,
    "Location": Location,
}


def decode_resources(data: bytes, problems: list[str]) -> list[FhirResource]:
    """Organizations, HealthcareServices and Locations of one resource or (nested) Bundle.

    Other resource types are skipped; a malformed resource inside a Bundle is skipped and
    described in ``problems``; a document that is not JSON raises ``msgspec.DecodeError``
    (a lone malformed resource, ``msgspec.ValidationError``).
    """
    kind = resource_type(data)
    if kind == "Bundle":
        found: list[FhirResource] = []
        for entry in bundle_entries(data)[0]:
            try:
                found.extend(decode_resources(entry, problems))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                problems.append(f"Bundle entry skipped: {exc}")
        return found
    model = _MODELS.get(kind)
    return [] if model is None else [msgspec.json.decode(data, type=model)]


def _code(ext: Extension) -> str | None:
    concept = ext.value_codeable_concept
    coding = concept.coding[0] if concept and concept.coding else ext.value_coding
    raw = coding.code if coding else ext.value_code or ext.value_string
    return raw.strip().upper() if raw else None


def _sub(ext: Extension, url: str) -> Extension | None:
    return next((e for e in ext.extension if e.url == url or e.url.endswith("/" + url)), None)


def parse_zones(extensions: Iterable[Extension], problems: list[str]) -> list[Zone]:
    """Every ``ror-territorial-division`` in ``extensions``; bad ones go to ``problems``."""
    zones: list[Zone] = []
    for ext in extensions:
        if ext.url != TERRITORIAL_DIVISION:
            continue
        kind, where = _sub(ext, "typeTerritorialDivision"), _sub(ext, "codeTerritorialDivision")
        level_code = _code(kind) if kind else None
        code = _code(where) if where else None
        level = (
            R201_LEVELS.get(int(level_code))
            if level_code and level_code.isascii() and level_code.isdigit()
            else None
        )
        if level is None or not code:
            problems.append(f"territorial division without a known type or a code: {ext}")
            continue
        if (
            code.isascii() and code.isdigit() and level is not ZoneLevel.TERRITOIRE
        ):  # a lost leading zero
            code = code.zfill(5 if level is ZoneLevel.COMMUNE else 2)
        if not _ZONE_CODE[level].match(code):
            problems.append(f"territorial division ({level.value}) with a malformed code {code!r}")
            continue
        zones.append(Zone(level, code))
    return zones


def is_cpts(org: Organization) -> bool:
    profiles = org.meta.profile if org.meta else []
    if any(p.rstrip("/").endswith(SAS_CPTS_PROFILE) for p in profiles):
        return True
    types = org.type if isinstance(org.type, list) else [org.type]
    return any(
        c.code == CPTS_CATEGORY and "tre_r66" in (c.system or "").lower().replace("-", "_")
        for concept in types
        for c in concept.coding
    )


def finess_of(org: Organization) -> str | None:
    idents = org.identifier if isinstance(org.identifier, list) else [org.identifier]
    for ident in idents:
        value = (ident.value or "").strip().upper()
        if "finess" in (ident.system or "").lower() and is_finess(value):
            return value
    for ident in idents:
        value = (ident.value or "").strip().upper()
        if ident.system == IDNST_SYSTEM and value[:1] == "1" and is_finess(value[1:]):
            return value[1:]
    return None


def phone_of(points: Iterable[ContactPoint]) -> str | None:
    return next((p.value for p in points if p.system == "phone" and p.value), None)


def contact_phone(service: HealthcareService) -> str | None:
    """A public phone number from the ROR contact extension of an offer."""
    for contact in service.extension:
        if not contact.url.endswith(_CONTACT):
            continue
        level = _sub(contact, "ror-confidentiality-level")
        if level is not None and _code(level) != "1":
            continue
        for telecom in contact.extension:
            if not telecom.url.endswith(_CONTACT + "-telecom"):
                continue
            channel = _sub(telecom, "ror-telecom-communication-channel")
            secrecy = _sub(telecom, "ror-telecom-confidentiality-level")
            address = _sub(telecom, "telecomAddress")
            concept = channel.value_codeable_concept if channel else None
            codings = concept.coding if concept else []
            # TRE_R200: "2" is "Téléphone fixe"; other phone channels say "Téléphone …"
            is_phone = any(c.code == "2" or "phone" in (c.display or "").lower() for c in codings)
            public = secrecy is None or _code(secrecy) == "1"
            if is_phone and public and address is not None and address.value_string:
                return address.value_string
    return None


def reference_id(ref: Reference | None, kind: str) -> str | None:
    """``id`` of a ``kind/id`` reference (relative, absolute or versioned), else ``None``."""
    if ref is None or not ref.reference:
        return None
    parts = ref.reference.split("/_history/")[0].rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == kind else None
