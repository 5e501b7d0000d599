"""Contextual search (flow INT_L01): everything the SAS front end needs, in one call.

The LRM launches ``<sas>/sas/recherche?origin=…&practitioner=…&specialty=…&streetnumber=…
&streetname=…&city=…&inseecode=…``; :meth:`ContextualSearch.resolve` applies DESIGN §2:

* ``origin`` must be an active authority of ``mappings/lrm_authorities.csv``; otherwise the
  flow is refused and nothing else is resolved (no directory lookup for unknown callers).
* ``specialty``: see :mod:`gateway.search.specialty` (an unknown code is reported and gives
  no specialty results; the doctor's cards are still shown).
* ``practitioner`` (the médecin traitant), looked up without any geographic filter:
  ``found`` with the card of every practice location; ``sas_pf_001`` when a malformed
  identifier, an unknown IDNPS, or a name that matches no or several RPPS;
  ``sas_pf_002`` when absent.
* Address: ``inseecode`` wins over ``city``; arrondissement codes keep their code under
  their city; only the digits of ``streetnumber`` count; a street number without street
  name, or an unknown INSEE code, makes the address invalid. No address parameter at all is
  ``missing_address``: the SAS has nowhere to search and sends the regulator back to its
  home page (the origin, specialty and médecin traitant are still resolved). The
  département gives the default radius and enlargement; the INSEE code gives the covering
  CPTS.

Patient data (the address) is never logged nor echoed in error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.directory.cards import PractitionerCard
from gateway.directory.cpts import CptsIndex, CptsMatch
from gateway.directory.identifiers import parse_practitioner_id
from gateway.directory.practitioners import PractitionerService
from gateway.errors import GatewayError, InvalidInput, NotFound, UpstreamError
from gateway.geo.service import GeoService
from gateway.mappings.authorities import AuthorityList
from gateway.mappings.radius import RadiusTable
from gateway.mappings.tables import ActiveMappings
from gateway.search.launch import LaunchParams, PractitionerForm, Problem, read_practitioner
from gateway.search.specialty import SpecialtyChoice, SpecialtyResolver
from gateway.terminology.service import TerminologyService

PF_FOUND = "found"
PF_NOT_IDENTIFIED = "sas_pf_001"
PF_NOT_PROVIDED = "sas_pf_002"
_PF_MESSAGES = {
    PF_NOT_IDENTIFIED: "Le médecin traitant n'a pas pu être identifié",
    PF_NOT_PROVIDED: "Le médecin traitant n'a pas été renseigné",
}
MISSING_ADDRESS = "missing_address"
#: Geocoder result types → the ranking's location type (distance order only for addresses).
SEARCH_LOCATION_TYPES = {"address": "address", "street": "address", "city": "city"}


@dataclass(frozen=True, slots=True)
class OriginCheck:
    code: str | None
    valid: bool
    label: str | None = None
    test: bool = False


@dataclass(frozen=True, slots=True)
class PreferredDoctor:
    status: str
    message: str | None
    card: PractitionerCard | None = None
    matched_by: str | None = None


@dataclass(frozen=True, slots=True)
class SearchLocation:
    lat: float
    lon: float
    insee: str | None
    city: str | None
    departement: str | None
    #: address, street or city (geocoder precision).
    type: str
    #: address or city: how results are ordered (distance, or a seeded random order).
    search_type: str
    source: str
    default_radius_km: float | None
    enlargement_km: float | None


@dataclass(slots=True)
class Resolution:
    origin: OriginCheck
    specialty: SpecialtyChoice | None = None
    preferred_doctor: PreferredDoctor | None = None
    location: SearchLocation | None = None
    cpts: list[CptsMatch] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    #: What the SAS does differently from what was asked, without refusing anything.
    warnings: list[Problem] = field(default_factory=list)


class ContextualSearch:
    def __init__(
        self,
        terminology: TerminologyService,
        practitioners: PractitionerService,
        geo: GeoService,
        mappings: ActiveMappings,
    ) -> None:
        self.specialties = SpecialtyResolver(terminology)
        self.practitioners = practitioners
        self.geo = geo
        self.mappings = mappings

    async def resolve(self, params: LaunchParams, cpts: CptsIndex) -> Resolution:
        tables = self.mappings.current  # one version for the whole request
        result = Resolution(self.check_origin(params.origin, tables.authorities))
        if not result.origin.valid:
            result.errors.append(
                Problem(
                    "origin_refused",
                    "origin",
                    "The origin is not an active LRM/SAMU authority known to the SAS: "
                    "the contextual search is refused",
                )
            )
            return result
        result.specialty = await self.specialties.resolve(
            params.specialty, tables.synonyms, result.errors, result.warnings
        )
        result.preferred_doctor = await self.preferred_doctor(params.practitioner, result.errors)
        result.location = await self.location(params, tables.radii, result.errors)
        if result.location is not None and result.location.insee is not None:
            result.cpts = cpts.covering(result.location.insee)
        return result

    @staticmethod
    def check_origin(code: str | None, authorities: AuthorityList) -> OriginCheck:
        value = (code or "").strip()
        found = authorities.get(value) if value else None
        if found is None:
            return OriginCheck(value or None, False)
        return OriginCheck(found.code, found.active, found.label, found.test)

    async def preferred_doctor(self, raw: str | None, errors: list[Problem]) -> PreferredDoctor:
        value = read_practitioner(raw)
        if value.form is PractitionerForm.MISSING:
            return _not(PF_NOT_PROVIDED)
        if value.form is PractitionerForm.MALFORMED:
            errors.append(
                Problem(
                    PF_NOT_IDENTIFIED,
                    "practitioner",
                    "practitioner looks like an identifier but is not "
                    "'urn:oid:1.2.250.1.71.4.2.1|8' followed by the 11-digit RPPS",
                )
            )
            return _not(PF_NOT_IDENTIFIED)
        assert value.value is not None
        try:
            if value.form is PractitionerForm.IDNPS:
                found, _ = await self.practitioners.card(parse_practitioner_id(value.value))
                return PreferredDoctor(PF_FOUND, None, found, "idnps")
            search = await self.practitioners.search(value.value)
        except (NotFound, InvalidInput) as exc:
            errors.append(Problem(PF_NOT_IDENTIFIED, "practitioner", exc.message))
            return _not(PF_NOT_IDENTIFIED)
        except UpstreamError:
            errors.append(
                Problem(
                    "directory_unavailable",
                    "practitioner",
                    "The practitioner directory is unavailable: the médecin traitant could "
                    "not be looked up",
                )
            )
            return _not(PF_NOT_IDENTIFIED)
        card = next((c.card for c in search.candidates if c.card.rpps == search.rpps), None)
        if not search.identified or card is None:
            errors.append(
                Problem(
                    PF_NOT_IDENTIFIED,
                    "practitioner",
                    "The name matches several practitioners (RPPS) in the directory"
                    if search.strong_rpps > 1
                    else "No practitioner in the directory matches this name",
                )
            )
            return _not(PF_NOT_IDENTIFIED)
        return PreferredDoctor(PF_FOUND, None, card, "name")

    async def location(
        self, params: LaunchParams, radii: RadiusTable, errors: list[Problem]
    ) -> SearchLocation | None:
        address = (params.inseecode, params.city, params.streetname, params.streetnumber)
        if not any((v or "").strip() for v in address):
            errors.append(
                Problem(
                    MISSING_ADDRESS,
                    None,
                    "No address (inseecode, city, streetname, streetnumber): the SAS has "
                    "nowhere to search and sends the regulator back to its home page. Give "
                    "inseecode (or city) for a commune, with streetname and streetnumber "
                    "for an address",
                )
            )
            return None
        try:
            # The geocoder service applies the INT_L01 address rules (inseecode wins over
            # city, digits of the street number, blank values absent).
            found = await self.geo.geocode(
                inseecode=params.inseecode,
                streetnumber=params.streetnumber,
                streetname=params.streetname,
                city=params.city,
            )
        except UpstreamError:
            errors.append(
                Problem("location_unavailable", None, "The address could not be geocoded now")
            )
            return None
        except GatewayError as exc:
            parameter = exc.details.get("parameter") if isinstance(exc.details, dict) else None
            errors.append(
                Problem("invalid_address", str(parameter) if parameter else None, exc.message)
            )
            return None
        departement = self.geo.communes.departement_of(found.insee) if found.insee else None
        radius = radii.get(departement) if departement else None
        return SearchLocation(
            lat=found.lat,
            lon=found.lon,
            insee=found.insee,
            city=found.city,
            departement=departement,
            type=found.type,
            search_type=SEARCH_LOCATION_TYPES.get(found.type, "city"),
            source=found.source,
            default_radius_km=radius.default_radius_km if radius else None,
            enlargement_km=radius.enlargement_km if radius else None,
        )


def _not(status: str) -> PreferredDoctor:
    return PreferredDoctor(status, _PF_MESSAGES[status])
