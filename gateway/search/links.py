"""Link builder for LRM editors: structured parameters → the canonical INT_L01 launch URL.

Every parameter gets a diagnostic saying what the SAS platform will do with it, using the
same readers as the contextual resolver (:mod:`gateway.search.contextual`), so an editor
sees in advance what a regulator will get. Unknown parameter names are matched against the
INT_L01 names (rapidfuzz) to suggest the intended one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from rapidfuzz import fuzz, process

from gateway.directory.cpts import CptsIndex
from gateway.directory.identifiers import idnps_token, rpps_in_idnps
from gateway.search.contextual import PF_FOUND, ContextualSearch, Resolution
from gateway.search.launch import PARAMETERS, LaunchParams
from gateway.search.specialty import SpecialtyChoice

#: Parameters LRM software commonly sends that INT_L01 does not define.
_KNOWN_EXTRAS = {
    "postcode": "the SAS finds the commune from inseecode (or city)",
    "zipcode": "the SAS finds the commune from inseecode (or city)",
    "codepostal": "the SAS finds the commune from inseecode (or city)",
    "lat": "the SAS geocodes the address itself",
    "lon": "the SAS geocodes the address itself",
    "radius": "the radius comes from the département's default",
}
_DIGITS = re.compile(r"[0-9]+")
#: ``12 rue de la Paix``, ``12bis, rue …``: a house number leading the street name.
_NUMBER_IN_STREET = re.compile(
    r"^([0-9]+)\s*(?:bis|ter|quater|[a-d](?![a-z]))?\s*,?\s+(.*[^\W\d_].*)$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    parameter: str
    #: ok, normalised, ignored, warning or error.
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class LaunchLink:
    url: str
    #: False when the SAS would refuse the flow or reject a parameter.
    valid: bool
    parameters: dict[str, str]
    diagnostics: list[Diagnostic]


def launch_url(base: str, parameters: Mapping[str, str]) -> str:
    """``base?origin=…&…`` in INT_L01 order; ``:``, ``|`` and spaces percent-encoded."""
    query = "&".join(
        f"{name}={quote(parameters[name], safe='')}" for name in PARAMETERS if name in parameters
    )
    return f"{base}?{query}" if query else base


def _unknown_name(name: str) -> Diagnostic:
    lowered = name.strip().lower()
    if lowered in _KNOWN_EXTRAS:
        return Diagnostic(
            name,
            "ignored",
            f"'{name}' is not part of INT_L01 and will be ignored: {_KNOWN_EXTRAS[lowered]}",
        )
    guess = process.extractOne(lowered, PARAMETERS, scorer=fuzz.ratio, score_cutoff=70)
    hint = f", did you mean '{guess[0]}'?" if guess else ""
    return Diagnostic(name, "error", f"'{name}' is not an INT_L01 parameter{hint}")


def _specialty_diagnostic(specialty: SpecialtyChoice) -> Diagnostic:
    if specialty.source == "default":
        return Diagnostic("specialty", "ok", f"default specialty: {specialty.label}")
    if specialty.source == "coding":
        return Diagnostic("specialty", "ok", f"resolves to: {specialty.label}")
    if specialty.coding is None:
        return Diagnostic(
            "specialty", "warning", "free text matching no NOS code: searched as text only"
        )
    _, code, display = specialty.coding
    how = "a stewards' synonym" if specialty.match == "synonym" else "the closest SAS label"
    return Diagnostic("specialty", "ok", f"free text read as {display} ({code}), by {how}")


class LinkBuilder:
    def __init__(self, contextual: ContextualSearch, base_url: str) -> None:
        self.contextual = contextual
        self.base_url = base_url

    async def build(self, given: Mapping[str, str], cpts: CptsIndex) -> LaunchLink:
        diagnostics: list[Diagnostic] = []
        kept: dict[str, str] = {}
        for name, value in given.items():
            if name not in PARAMETERS:
                diagnostics.append(_unknown_name(name))
            elif value.strip():
                kept[name] = value.strip()
        self._normalise(kept, diagnostics)
        params = LaunchParams(**kept)
        resolution = await self.contextual.resolve(params, cpts)
        self._explain(kept, resolution, diagnostics)
        valid = not any(d.status == "error" for d in diagnostics)
        order = {name: i for i, name in enumerate(PARAMETERS)}
        diagnostics.sort(key=lambda d: order.get(d.parameter, len(order)))
        return LaunchLink(launch_url(self.base_url, kept), valid, kept, diagnostics)

    @staticmethod
    def _normalise(kept: dict[str, str], diagnostics: list[Diagnostic]) -> None:
        practitioner = kept.get("practitioner", "")
        if rpps_in_idnps(practitioner) is not None:
            kept["practitioner"] = idnps_token(practitioner)
            diagnostics.append(
                Diagnostic(
                    "practitioner",
                    "normalised",
                    "a bare IDNPS was written as the INT_L01 token "
                    "urn:oid:1.2.250.1.71.4.2.1|IDNPS",
                )
            )
        street = kept.get("streetname")
        moved = _NUMBER_IN_STREET.match(street) if street and "streetnumber" not in kept else None
        if moved is not None:
            kept["streetnumber"], kept["streetname"] = moved.group(1), moved.group(2).strip()
            diagnostics.append(
                Diagnostic(
                    "streetname",
                    "normalised",
                    "INT_L01 has a separate streetnumber parameter: the house number at the "
                    "start of streetname was moved there (the geocoder reads it either way)",
                )
            )
        number = kept.get("streetnumber")
        if number is not None:
            digits = _DIGITS.search(number)
            if digits is None:
                del kept["streetnumber"]
                diagnostics.append(
                    Diagnostic("streetnumber", "ignored", "streetnumber has no digit: dropped")
                )
            elif digits.group() != number:
                kept["streetnumber"] = digits.group()
                diagnostics.append(
                    Diagnostic(
                        "streetnumber",
                        "normalised",
                        "only the digits of the street number are kept by the SAS",
                    )
                )
        if "inseecode" in kept and "city" in kept:
            del kept["city"]
            diagnostics.append(
                Diagnostic("city", "ignored", "city is dropped: inseecode wins over city")
            )

    @staticmethod
    def _explain(
        kept: Mapping[str, str], resolution: Resolution, diagnostics: list[Diagnostic]
    ) -> None:
        explained = {d.parameter for d in diagnostics}
        for problem in resolution.errors:
            parameter = problem.parameter or "inseecode"
            status = "warning" if problem.code == "location_unavailable" else "error"
            diagnostics.append(Diagnostic(parameter, status, problem.message))
            explained.add(parameter)
        for problem in resolution.warnings:
            parameter = problem.parameter or "origin"
            diagnostics.append(Diagnostic(parameter, "warning", problem.message))
            explained.add(parameter)
        origin = resolution.origin
        if origin.valid and origin.test:
            diagnostics.append(
                Diagnostic(
                    "origin", "warning", f"{origin.code} is a test authority ({origin.label})"
                )
            )
        elif origin.valid:
            diagnostics.append(Diagnostic("origin", "ok", f"{origin.code}: {origin.label}"))
        if not origin.valid:
            return
        doctor = resolution.preferred_doctor
        if doctor is not None and doctor.status == PF_FOUND and doctor.card is not None:
            card = doctor.card
            name = " ".join(p for p in (card.given, card.family) if p)
            count = len(card.locations)
            diagnostics.append(
                Diagnostic(
                    "practitioner",
                    "ok",
                    f"practitioner resolves to Dr {name}, {count} practice "
                    f"location{'s' if count != 1 else ''}",
                )
            )
        elif doctor is not None and "practitioner" not in explained:
            diagnostics.append(
                Diagnostic("practitioner", "warning", f"{doctor.status}: {doctor.message}")
            )
        specialty = resolution.specialty
        if specialty is not None and "specialty" not in explained:
            diagnostics.append(_specialty_diagnostic(specialty))
        location = resolution.location
        if location is not None:
            where = location.city or location.insee or "the address"
            radius = (
                f", default radius {location.default_radius_km:g} km"
                if location.default_radius_km is not None
                else ""
            )
            target = "inseecode" if "inseecode" in kept else "city"
            diagnostics.append(
                Diagnostic(
                    target, "ok", f"address located at {location.type} level in {where}{radius}"
                )
            )
