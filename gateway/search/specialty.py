"""The INT_L01 ``specialty``: a coding resolved through the terminology, free text mapped by
the stewards' synonyms or a close SAS specialty label, or the SAS default.

* ``urn:oid:<oid>|<code>``: its label from the terminology. An unknown ``SM`` code of
  TRE_R38 gets the default specialty, as the SAS does, with a warning naming the code; any
  other unknown code is reported and gives no specialty results (``searchable`` false);
* free text: kept as the label; its coding from ``mappings/specialty_synonyms.csv``, else
  the closest JDV_J239 label from ``MIN_FUZZY_SCORE`` (rapidfuzz), else none;
* absent: "Consultation de médecine générale" (TRE_R38 SM54).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import GatewayError, NotFound, UpstreamError
from gateway.mappings.specialties import SynonymTable
from gateway.search.launch import (
    DEFAULT_SPECIALTY_CODING,
    DEFAULT_SPECIALTY_LABEL,
    Problem,
    SpecialtyForm,
    read_specialty,
)
from gateway.terminology.service import TerminologyService

#: The SAS specialties value set, for free-text specialties no synonym covers.
SAS_SPECIALTIES = "JDV_J239"
MIN_FUZZY_SCORE = 85.0
#: The TRE_R38 codes the SAS replaces by its default specialty when it does not know them.
_SM_CODE = re.compile(r"^SM[0-9]+$")


@dataclass(frozen=True, slots=True)
class SpecialtyChoice:
    label: str
    #: (system, code, display) when the specialty is a known or default coding.
    coding: tuple[str, str, str] | None
    source: str
    #: False when the specialty cannot be searched (unknown or malformed code).
    searchable: bool
    #: For free text: how it was mapped to a coding (synonym, fuzzy), else None.
    match: str | None = None


class SpecialtyResolver:
    def __init__(self, terminology: TerminologyService) -> None:
        self.terminology = terminology

    async def resolve(
        self,
        raw: str | None,
        synonyms: SynonymTable,
        errors: list[Problem],
        warnings: list[Problem],
    ) -> SpecialtyChoice:
        value = read_specialty(raw)
        if value.form is SpecialtyForm.TEXT:
            assert value.text is not None
            coding, how = await self.text_coding(value.text, synonyms)
            return SpecialtyChoice(value.text, coding, "text", True, how)
        if value.form is SpecialtyForm.MALFORMED:
            errors.append(
                Problem(
                    "invalid_specialty",
                    "specialty",
                    "specialty must be 'urn:oid:<oid>|<code>' or a free-text label",
                )
            )
            return SpecialtyChoice(raw or "", None, "coding", False)
        default = value.form is SpecialtyForm.DEFAULT
        system, code = DEFAULT_SPECIALTY_CODING if default else (value.system, value.code)
        assert system is not None
        assert code is not None
        try:
            concept = (await self.terminology.lookup(system, code)).value.concept
        except NotFound:
            if not default and system == DEFAULT_SPECIALTY_CODING[0] and _SM_CODE.match(code):
                warnings.append(
                    Problem(
                        "default_specialty",
                        "specialty",
                        f"{system}|{code} is not a known TRE_R38 code: the SAS searches the "
                        f"default specialty, {DEFAULT_SPECIALTY_LABEL}",
                    )
                )
                return await self.resolve(None, synonyms, errors, warnings)
            errors.append(
                Problem(
                    "unknown_specialty",
                    "specialty",
                    f"{system}|{code} is not a known code: no specialty results are searched",
                )
            )
            return SpecialtyChoice(code, (system, code, code), "coding", False)
        except UpstreamError:
            label = DEFAULT_SPECIALTY_LABEL if default else code
            return SpecialtyChoice(
                label, (system, code, code), "default" if default else "coding", True
            )
        coding = (system, concept.code, concept.display)
        if default:
            return SpecialtyChoice(DEFAULT_SPECIALTY_LABEL, coding, "default", True)
        return SpecialtyChoice(concept.display, coding, "coding", not concept.inactive)

    async def text_coding(
        self, text: str, synonyms: SynonymTable
    ) -> tuple[tuple[str, str, str] | None, str | None]:
        """A free-text specialty's coding: a stewards' synonym, else a close JDV_J239 label."""
        synonym = synonyms.get(text)
        if synonym is not None:
            label = (await self.terminology.label(synonym.system, synonym.code)).value
            return (synonym.system, label.code, label.display), "synonym"
        try:
            found = await self.terminology.search(text, valueset=SAS_SPECIALTIES, limit=1)
        except GatewayError:  # no such value set here, or the SMT is down
            return None, None
        best = found.value[0] if found.value else None
        if best is None or best.score < MIN_FUZZY_SCORE:
            return None, None
        return (best.system, best.code, best.display), "fuzzy"
