"""What the gateway reads off an Annuaire Practitioner besides its name: its IDNPS, its
profession (TRE_G15) and its specialties (TRE_R38).

One accessor for the card builder and the search index, so a practitioner labelled on its
card is also found by a specialty search. The Annuaire writes a qualification's system in
any canonical form (ANS URL of either family, ``urn:oid:…``, bare OID); each is resolved
through the terminology's ``CanonicalIndex`` (the snapshot's aliases when the caller has
them, else the URL families and the OIDs of ``NOS_OIDS``), never compared as a string.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.directory.identifiers import IDNPS_SYSTEM, idnps_of
from gateway.directory.model import Practitioner, rpps_of
from gateway.terminology.canonical import CanonicalIndex

PROFESSION_NOS = "TRE_G15"
SPECIALTY_NOS = "TRE_R38"
_ANS_FORMS = CanonicalIndex()


@dataclass(frozen=True, slots=True)
class QualificationCode:
    #: As written in the resource (a terminology look-up resolves any alias).
    system: str
    code: str


@dataclass(frozen=True, slots=True)
class PractitionerCodes:
    #: The first TRE_G15 coding.
    profession: QualificationCode | None
    #: Every TRE_R38 coding, in the resource's order.
    specialties: tuple[QualificationCode, ...]

    @property
    def specialty(self) -> QualificationCode | None:
        """The main specialty (the first), the one the search index keeps."""
        return self.specialties[0] if self.specialties else None


def practitioner_codes(
    practitioner: Practitioner, aliases: CanonicalIndex | None = None
) -> PractitionerCodes:
    """The profession and specialty codes of ``practitioner``'s qualifications (codings
    without a system or a code are skipped)."""
    index = aliases or _ANS_FORMS
    profession: QualificationCode | None = None
    specialties: list[QualificationCode] = []
    for qualification in practitioner.qualification:
        for coding in qualification.code.coding:
            if not coding.system or not coding.code:
                continue
            nos = index.resolve(coding.system)
            if nos == PROFESSION_NOS and profession is None:
                profession = QualificationCode(coding.system, coding.code)
            elif nos == SPECIALTY_NOS:
                specialties.append(QualificationCode(coding.system, coding.code))
    return PractitionerCodes(profession, tuple(specialties))


def practitioner_idnps(practitioner: Practitioner) -> str | None:
    """Its IDNPS identifier, else the one its RPPS implies; None without either."""
    written = next(
        (i.value for i in practitioner.identifier if i.system == IDNPS_SYSTEM and i.value), None
    )
    if written is not None:
        return written
    rpps = rpps_of(practitioner)
    return idnps_of(rpps) if rpps else None
