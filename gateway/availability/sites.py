"""SOS Médecins consultation sites, as an SOS agenda source describes them.

In the SAS IG's SOS search (``specifications_techniques-sos-recherche_creneaux``) a slot's
Schedule names one Location: a fixed consultation point ("PFG") with a name, a phone, an
address (line, postcode and city are required by the profile) and the SOS Médecins
association managing it (``managingOrganization``: an Organization whose IDNST is "3" +
SIRET). The site is what a regulator is shown, so what the bundle says of it travels with
each of its slots (``ReadSlot.site``) and is remembered by the source's state.

A site is named by the Location's first identifier (the IG's "ID du lieu fixe de
consultation": an IDNST, or the editor's own INTRN identifier), else by the Location's id.
Its point is the Location's ``position`` when the editor gives one; otherwise the search
places it at its commune (``gateway.search.sos``).
"""

from __future__ import annotations

import msgspec

from gateway.availability.resources import Entries, Location, Organization
from gateway.directory.identifiers import SIRET_PREFIX
from gateway.directory.model import INSEE_EXTENSION


class SitePlace(msgspec.Struct, frozen=True):
    line: str
    postcode: str
    city: str
    #: The commune's INSEE code when the address carries it (FR Core extension).
    insee: str | None = None


class SosSite(msgspec.Struct, frozen=True):
    #: The site's identifier value (else the Location's id), unique within its association.
    key: str
    #: The managing association's IDNST ("3" + SIRET).
    association: str
    association_name: str | None
    name: str | None
    phone: str | None
    place: SitePlace | None
    #: The Location's own position, when given (WGS84 degrees).
    lat: float | None = None
    lon: float | None = None
    #: When a refresh last saw the site (epoch s; stamped by ``state.known_sites``).
    seen_at: float = 0.0


def association_key(value: str | None) -> str | None:
    """An association's identifier value as subscriptions hold it: "3" + SIRET (a value
    written without its "3", the bare 14-digit SIRET, is tolerated)."""
    if value is None:
        return None
    text = value.strip()
    return SIRET_PREFIX + text if len(text) == 14 and text.isdigit() else text


def read_site(location: Location, association: str | None, entries: Entries) -> SosSite | None:
    """The site a Location describes; None without its association's identifier."""
    owner = association_key(association)
    if not owner:
        return None
    managing = location.managing_organization
    organization = entries.get(managing.reference) if managing else None
    ident = next((i.value.strip() for i in location.identifier if i.value and i.value.strip()), "")
    phone = next(
        (t.value.strip() for t in location.telecom if t.system == "phone" and t.value), None
    )
    position = location.position
    has_point = (
        position is not None and position.latitude is not None and position.longitude is not None
    )
    return SosSite(
        key=ident or location.id,
        association=owner,
        association_name=organization.name if isinstance(organization, Organization) else None,
        name=(location.name or "").strip() or None,
        phone=phone or None,
        place=_place(location),
        lat=position.latitude if has_point and position else None,
        lon=position.longitude if has_point and position else None,
    )


def _place(location: Location) -> SitePlace | None:
    address = location.address
    if address is None:
        return None
    insee = next(
        (
            ext.value_coding.code
            for ext in address.extension
            if ext.url == INSEE_EXTENSION and ext.value_coding and ext.value_coding.code
        ),
        None,
    )
    return SitePlace(
        line=", ".join(line.strip() for line in address.line if line and line.strip()),
        postcode=(address.postal_code or "").strip(),
        city=(address.city or "").strip(),
        insee=insee,
    )
