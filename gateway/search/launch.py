"""INT_L01 launch parameters: reading the ``practitioner`` and ``specialty`` values.

Shared by the contextual resolver and the link builder so both read a value the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from gateway.directory.identifiers import idnps_in_token

#: The INT_L01 parameters, in the order of the SAS launch URL.
PARAMETERS = (
    "origin",
    "practitioner",
    "specialty",
    "streetnumber",
    "streetname",
    "city",
    "inseecode",
)
DEFAULT_SPECIALTY_LABEL = "Consultation de médecine générale"
#: TRE_R38 SM54 (médecine générale), the specialty behind the default label.
DEFAULT_SPECIALTY_CODING = ("urn:oid:1.2.250.1.213.2.28", "SM54")

_OID_CODING = re.compile(r"^urn:oid:([0-2](?:\.(?:0|[1-9][0-9]*))+)\|([A-Za-z0-9._-]{1,64})$")
_IDENTIFIER_LIKE = re.compile(r"^(?:urn:|oid:|[0-9][0-9. |]*$)|\|", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Problem:
    """What the SAS will do with a parameter it cannot use (``code`` is stable)."""

    code: str
    parameter: str | None
    message: str


@dataclass(frozen=True, slots=True)
class LaunchParams:
    """The INT_L01 query parameters, verbatim (``None`` when absent)."""

    origin: str | None = None
    practitioner: str | None = None
    specialty: str | None = None
    streetnumber: str | None = None
    streetname: str | None = None
    city: str | None = None
    inseecode: str | None = None


class PractitionerForm(Enum):
    MISSING = "missing"
    IDNPS = "idnps"
    MALFORMED = "malformed"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class PractitionerValue:
    form: PractitionerForm
    #: The IDNPS for ``IDNPS``, the trimmed name for ``NAME``.
    value: str | None = None


def read_practitioner(raw: str | None) -> PractitionerValue:
    """``urn:oid:1.2.250.1.71.4.2.1|8XXXXXXXXXXX`` → IDNPS; anything that looks like an
    identifier (``urn:``, an OID, digits, a ``|``) but is not that → malformed; else a name."""
    text = (raw or "").strip()
    if not text:
        return PractitionerValue(PractitionerForm.MISSING)
    idnps = idnps_in_token(text)
    if idnps is not None:
        return PractitionerValue(PractitionerForm.IDNPS, idnps)
    if _IDENTIFIER_LIKE.search(text):
        return PractitionerValue(PractitionerForm.MALFORMED)
    return PractitionerValue(PractitionerForm.NAME, " ".join(text.split()))


class SpecialtyForm(Enum):
    DEFAULT = "default"
    CODING = "coding"
    MALFORMED = "malformed"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class SpecialtyValue:
    form: SpecialtyForm
    system: str | None = None
    code: str | None = None
    text: str | None = None


def read_specialty(raw: str | None) -> SpecialtyValue:
    """``urn:oid:<oid>|<code>`` → coding; ``urn:…`` otherwise → malformed; else free text."""
    text = " ".join((raw or "").split())
    if not text:
        return SpecialtyValue(SpecialtyForm.DEFAULT)
    coding = _OID_CODING.match(text)
    if coding:
        return SpecialtyValue(SpecialtyForm.CODING, f"urn:oid:{coding.group(1)}", coding.group(2))
    if text.lower().startswith(("urn:", "oid:")) or "|" in text:
        return SpecialtyValue(SpecialtyForm.MALFORMED)
    return SpecialtyValue(SpecialtyForm.TEXT, text=text)
