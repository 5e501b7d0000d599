"""Practitioner identifiers shared by the whole project (RPPS, IDNPS), and the one structure
identifier the agenda flows need (an SOS Médecins association's IDNST).

* RPPS: 11 digits, system ``https://rpps.esante.gouv.fr``; the last digit is a Luhn check
  digit. Directory examples do not all pass it, so a failed check is only a warning.
* IDNPS: ``8`` + the 11-digit RPPS, system ``urn:oid:1.2.250.1.71.4.2.1``, written either
  bare (``810003461033``) or as a token ``urn:oid:1.2.250.1.71.4.2.1|810003461033``.
* SOS Médecins association: IDNST ``3`` + its 14-digit SIRET, system
  ``urn:oid:1.2.250.1.71.4.2.2`` (SAS IG, SOS slot search); the SIRET's Luhn digit is not
  enforced either.

The rule "IDNPS = 8 + RPPS" lives here only (as text: ``idnps_of``/``rpps_in_idnps``; as a
number for numeric columns: ``IDNPS_OFFSET``); cards, the search index, the INT_L01 reader
and the demo generator all ask this module.

Hand-written: the formats are French-specific and a dozen lines; no library covers them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidInput

IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"

#: An RPPS holder's IDNPS is this prefix and the RPPS.
IDNPS_PREFIX = "8"
#: The same rule on numbers: ``IDNPS_OFFSET + int(rpps)`` (RPPS have 11 digits).
IDNPS_OFFSET = int(IDNPS_PREFIX) * 10**11

#: An RPPS holder's IDNPS as a pattern string, for schemas (msgspec, OpenAPI).
IDNPS_REGEX = rf"^{IDNPS_PREFIX}[0-9]{{11}}$"
_IDNPS = re.compile(IDNPS_REGEX)
_RPPS = re.compile(r"[0-9]{11}")
#: An IDNST built on a SIRET: this prefix and the 14 digits.
SIRET_PREFIX = "3"
_SIRET = re.compile(r"[0-9]{14}")
#: A FINESS number: 9 characters, the first two the département (2A/2B in Corsica).
_FINESS = re.compile(r"[0-9]{9}|2[AB][0-9]{7}")


def idnps_of(rpps: str) -> str:
    return IDNPS_PREFIX + rpps


def rpps_in_idnps(idnps: str) -> str | None:
    """The RPPS of an RPPS holder's IDNPS (``8`` + 11 digits); None for anything else
    (an IDNPS built on another register, or a malformed value)."""
    return idnps[len(IDNPS_PREFIX) :] if _IDNPS.fullmatch(idnps) else None


def idnps_token(idnps: str) -> str:
    """``urn:oid:1.2.250.1.71.4.2.1|<idnps>``: the INT_L01 and FHIR search form."""
    return f"{IDNPS_SYSTEM}|{idnps}"


def idnps_in_token(text: str) -> str | None:
    """The IDNPS of an exact ``urn:oid:1.2.250.1.71.4.2.1|8XXXXXXXXXXX`` token, else None."""
    system, sep, value = text.partition("|")
    return value if sep and system == IDNPS_SYSTEM and rpps_in_idnps(value) else None


def is_finess(text: str) -> bool:
    """Shaped like a FINESS number (its check digit is not verified: the demo CPTS fail it)."""
    return _FINESS.fullmatch(text) is not None


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class PractitionerId:
    rpps: str
    luhn_ok: bool

    @property
    def idnps(self) -> str:
        return idnps_of(self.rpps)

    @property
    def token(self) -> str:
        return idnps_token(self.idnps)

    @property
    def warnings(self) -> list[str]:
        if self.luhn_ok:
            return []
        return [f"RPPS {self.rpps} fails its Luhn check digit; kept as given"]


def parse_practitioner_id(text: str, parameter: str = "idnps") -> PractitionerId:
    """IDNPS (bare or ``urn:oid:…|…``) or 11-digit RPPS → ``PractitionerId``."""
    value = text.strip()
    if "|" in value:
        system, _, value = value.partition("|")
        if system not in (IDNPS_SYSTEM, RPPS_SYSTEM):
            raise InvalidInput(
                f"'{system}' is not the IDNPS system ({IDNPS_SYSTEM}) nor the RPPS system "
                f"({RPPS_SYSTEM})",
                parameter=parameter,
            )
        if system == RPPS_SYSTEM:
            return _from_rpps(value, parameter)
        rpps = rpps_in_idnps(value)
        if rpps is None:
            raise InvalidInput(
                "An IDNPS is '8' followed by the 11-digit RPPS (12 digits)",
                parameter=parameter,
            )
        return _from_rpps(rpps, parameter)
    return _from_rpps(rpps_in_idnps(value) or value, parameter)


def _from_rpps(value: str, parameter: str) -> PractitionerId:
    if not _RPPS.fullmatch(value):
        raise InvalidInput(
            "Expected an IDNPS ('8' + 11 digits) or an 11-digit RPPS",
            parameter=parameter,
        )
    return PractitionerId(rpps=value, luhn_ok=luhn_valid(value))


def parse_sos_association(text: str, parameter: str = "identifier") -> str:
    """An SOS Médecins association's IDNST (``3`` + SIRET) from itself, its token
    ``urn:oid:1.2.250.1.71.4.2.2|3…`` or the bare 14-digit SIRET; else ``InvalidInput``."""
    value = text.strip()
    if "|" in value:
        system, _, value = value.partition("|")
        if system != IDNST_SYSTEM:
            raise InvalidInput(
                f"'{system}' is not the IDNST system ({IDNST_SYSTEM})", parameter=parameter
            )
    if _SIRET.fullmatch(value):
        return SIRET_PREFIX + value
    if value.startswith(SIRET_PREFIX) and _SIRET.fullmatch(value[len(SIRET_PREFIX) :]):
        return value
    raise InvalidInput(
        "Expected an SOS Médecins association: '3' + its 14-digit SIRET (15 digits), or the SIRET",
        parameter=parameter,
    )
