"""msgspec models of the Annuaire Santé resources a practitioner card needs.

Only the fields used are declared (unknown ones are ignored); shaped on the Annuaire Santé
IG "DP" (public data) profiles: identifiers, names and qualifications on Practitioner,
links on PractitionerRole, practice addresses (with the INSEE commune code extension) on
Organization.
"""

from __future__ import annotations

import msgspec

from gateway.directory.identifiers import IDNPS_SYSTEM, RPPS_SYSTEM, rpps_in_idnps
from gateway.fhir import (
    Bundle,
    CodeableConcept,
    ContactPoint,
    Extension,
    Identifier,
    Reference,
    resource_type,
)

INSEE_EXTENSION = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
_ADXP = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-"
#: Address parts the Annuaire puts in ``_line`` extensions, in reading order.
_LINE_PARTS = ("houseNumber", "buildingNumberSuffix", "streetNameType", "streetNameBase")
#: Street types as the Annuaire abbreviates them (TRE_R35-TypeVoie), spelled out for the
#: geocoder and for readers; others are kept as written.
STREET_TYPES = {
    "R": "Rue", "AV": "Avenue", "BD": "Boulevard", "PL": "Place", "CHE": "Chemin",
    "RTE": "Route", "IMP": "Impasse", "ALL": "Allée", "QUA": "Quai", "QU": "Quai",
    "CRS": "Cours", "SQ": "Square", "PASS": "Passage", "FG": "Faubourg", "RPT": "Rond-point",
    "ESP": "Esplanade", "PRV": "Parvis", "SEN": "Sentier", "LOT": "Lotissement",
    "RES": "Résidence", "HAM": "Hameau", "LD": "Lieu-dit", "ZA": "ZA", "ZI": "ZI",
}  # fmt: skip


class HumanName(msgspec.Struct, omit_defaults=True):
    family: str | None = None
    given: list[str] = []
    prefix: list[str] = []
    use: str | None = None


class Qualification(msgspec.Struct, omit_defaults=True):
    code: CodeableConcept = msgspec.field(default_factory=CodeableConcept)


class LineElement(msgspec.Struct, omit_defaults=True):
    """A ``_line`` item: the parts of one address line as extensions."""

    extension: list[Extension] = []

    def text(self) -> str:
        parts = {ext.url.removeprefix(_ADXP): ext.value_string for ext in self.extension}
        words = [parts.get(name) for name in _LINE_PARTS]
        if words[2]:
            words[2] = STREET_TYPES.get(words[2].upper(), words[2])
        return " ".join(w for w in words if w)


class Address(msgspec.Struct, omit_defaults=True):
    line: list[str] = []
    city: str | None = None
    postalCode: str | None = None  # noqa: N815 - FHIR field name
    extension: list[Extension] = []
    line_parts: list[LineElement | None] = msgspec.field(default_factory=list, name="_line")

    def street(self) -> str | None:
        """The address lines, else the line read from the ``_line`` parts."""
        written = [line for line in self.line if line]
        if not written:
            written = [text for part in self.line_parts if part and (text := part.text())]
        return ", ".join(written) or None

    def insee(self) -> str | None:
        for ext in self.extension:
            if ext.url == INSEE_EXTENSION and ext.value_coding is not None:
                return ext.value_coding.code
        return None


class Practitioner(msgspec.Struct, omit_defaults=True):
    id: str = ""
    active: bool | None = None
    identifier: list[Identifier] = []
    name: list[HumanName] = []
    qualification: list[Qualification] = []


class PractitionerRole(msgspec.Struct, omit_defaults=True):
    id: str = ""
    active: bool | None = None
    practitioner: Reference | None = None
    organization: Reference | None = None


class Organization(msgspec.Struct, omit_defaults=True):
    id: str = ""
    name: str | None = None
    identifier: list[Identifier] = []
    address: list[Address] = []
    telecom: list[ContactPoint] = []


DirectoryResource = Practitioner | PractitionerRole | Organization
_TYPES: dict[str, type[Practitioner] | type[PractitionerRole] | type[Organization]] = {
    "Practitioner": Practitioner,
    "PractitionerRole": PractitionerRole,
    "Organization": Organization,
}


def decode_directory(data: bytes) -> tuple[list[DirectoryResource], str | None]:
    """Resources of one JSON document (a resource or a Bundle) and the Bundle's next link.

    Raises ``msgspec.DecodeError``/``ValidationError`` on malformed JSON.
    """
    kind = resource_type(data)
    if kind == "Bundle":
        bundle = msgspec.json.decode(data, type=Bundle)
        return decode_entries(bundle), bundle.next_url()
    model = _TYPES.get(kind)
    return ([msgspec.json.decode(data, type=model)] if model else []), None


def decode_entries(bundle: Bundle) -> list[DirectoryResource]:
    """The directory resources of a Bundle's entries (nested Bundles included).

    Raises ``msgspec.DecodeError``/``ValidationError`` on a malformed entry.
    """
    out: list[DirectoryResource] = []
    for entry in bundle.resources():
        out.extend(decode_directory(entry)[0])
    return out


def local_id(reference: Reference | None) -> str | None:
    """``Organization/158480`` → ``158480``."""
    if reference is None or not reference.reference:
        return None
    return reference.reference.rsplit("/", 1)[-1]


def rpps_of(practitioner: Practitioner) -> str | None:
    for ident in practitioner.identifier:
        if ident.system == RPPS_SYSTEM and ident.value:
            return ident.value
        if ident.system == IDNPS_SYSTEM and ident.value and rpps_in_idnps(ident.value):
            return rpps_in_idnps(ident.value)
    return None
