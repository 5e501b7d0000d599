"""Canonical URL handling for NOS resources.

The same NOS appears under several names; all of these denote TRE_R38::

    https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale
    https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale/
    https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r38-specialiteordinale
    urn:oid:1.2.250.1.213.2.28                 (from the resource's ``identifier``)
    TRE_R38, TRE_R38-SpecialiteOrdinale        (the NOS name)

``nos_id`` extracts the stable NOS identifier (``TRE_R38``) from the *last* path segment
of the two ANS URL families only (any other URL is compared as is, so
``http://example.org/TRE_R38`` is *not* TRE_R38); the last segment also survives the typo
of the legacy J239 export (``/NOS/JDV_J23-…/FHIR/JDV-J239-…``). ``CanonicalIndex`` maps
every alias to one identity key per resource.
"""

from __future__ import annotations

import re

_NOS_SEGMENT = re.compile(r"^(TRE|JDV|ASS)[-_]([A-Z]+\d+)(?:[-_](.*))?$", re.IGNORECASE)
_NOS_FAMILIES = re.compile(
    r"^https?://(mos\.esante\.gouv\.fr/NOS/|smt\.esante\.gouv\.fr/fhir/"
    r"(CodeSystem|ValueSet|ConceptMap)/)",
    re.IGNORECASE,
)
OID_PREFIX = "urn:oid:"
#: OIDs of the NOS the gateway's own rules name, known before any resource is loaded: the
#: Annuaire codes qualifications with them, and practitioners are read at start-up, when
#: the snapshot may hold no terminology and nothing has been fetched from the SMT yet.
NOS_OIDS = {"1.2.250.1.71.1.2.7": "TRE_G15", "1.2.250.1.213.2.28": "TRE_R38"}


def is_url(system: str) -> bool:
    return system.strip().startswith(("https://", "http://"))


def strip_url(url: str) -> str:
    return url.strip().rstrip("/")


def nos_id(url_or_name: str) -> str | None:
    """``TRE_R38`` for an ANS URL or a bare name of that NOS, else None."""
    text = strip_url(url_or_name)
    if "/" in text or ":" in text:
        if not _NOS_FAMILIES.match(text):
            return None
        text = text.rsplit("/", 1)[-1]
    match = _NOS_SEGMENT.match(text)
    if match is None:
        return None
    return f"{match.group(1).upper()}_{match.group(2).upper()}"


def nos_name(url: str) -> str | None:
    """``TRE_R38-SpecialiteOrdinale`` for an ANS URL of that NOS, else None."""
    identity = nos_id(url)
    if identity is None:
        return None
    match = _NOS_SEGMENT.match(strip_url(url).rsplit("/", 1)[-1])
    return f"{identity}-{match.group(3)}" if match and match.group(3) else identity


def oid_of(identifier_value: str | None) -> str | None:
    if identifier_value and identifier_value.startswith(OID_PREFIX):
        return identifier_value[len(OID_PREFIX) :]
    return None


class CanonicalIndex:
    """Alias → identity key. The identity of a NOS resource is its NOS id, else its URL."""

    def __init__(self) -> None:
        self._aliases: dict[str, str] = {
            alias: nos for oid, nos in NOS_OIDS.items() for alias in (oid, OID_PREFIX + oid)
        }
        # Requests repeat the same few systems: remember raw input → identity.
        self._resolved: dict[str, str] = {}

    @staticmethod
    def identity_for(url: str) -> str:
        return nos_id(url) or strip_url(url)

    def register(self, url: str, oids: list[str]) -> str:
        identity = self.identity_for(url)
        for alias in {strip_url(url), identity, *(OID_PREFIX + oid for oid in oids), *oids}:
            self._aliases[alias] = identity
        self._resolved.clear()
        return identity

    def knows(self, alias: str) -> bool:
        """Whether ``alias`` was registered (by a resource loaded or fetched)."""
        return strip_url(alias) in self._aliases

    def resolve(self, system: str) -> str:
        """Identity key for ``system`` (URL in any family, OID, urn:oid, NOS name)."""
        found = self._resolved.get(system)
        if found is None:
            text = strip_url(system)
            found = self._aliases.get(text) or self.identity_for(text)
            if len(self._resolved) >= 10_000:
                self._resolved.clear()
            self._resolved[system] = found
        return found
