"""Practitioner identifiers shared by the whole project (RPPS, IDNPS).

* RPPS: 11 digits, system ``https://rpps.esante.gouv.fr``; the last digit is a Luhn check
  digit. Directory examples do not all pass it, so a failed check is only a warning.
* IDNPS: ``8`` + the 11-digit RPPS, system ``urn:oid:1.2.250.1.71.4.2.1``, written either
  bare (``810003461033``) or as a token ``urn:oid:1.2.250.1.71.4.2.1|810003461033``.

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

_IDNPS = re.compile(r"^8[0-9]{11}$")
_RPPS = re.compile(r"^[0-9]{11}$")


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
        return "8" + self.rpps

    @property
    def token(self) -> str:
        return f"{IDNPS_SYSTEM}|{self.idnps}"

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
        if not _IDNPS.match(value):
            raise InvalidInput(
                "An IDNPS is '8' followed by the 11-digit RPPS (12 digits)",
                parameter=parameter,
            )
        return _from_rpps(value[1:], parameter)
    if _IDNPS.match(value):
        return _from_rpps(value[1:], parameter)
    return _from_rpps(value, parameter)


def _from_rpps(value: str, parameter: str) -> PractitionerId:
    if not _RPPS.match(value):
        raise InvalidInput(
            "Expected an IDNPS ('8' + 11 digits) or an 11-digit RPPS",
            parameter=parameter,
        )
    return PractitionerId(rpps=value, luhn_ok=luhn_valid(value))
