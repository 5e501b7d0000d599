"""Practitioners, roles and organizations indexed for card building.

The same index serves the snapshot (``GATEWAY_SNAPSHOT_DIR``, read recursively: single
resources and Bundles, exactly as the Annuaire returns them) and each upstream answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from gateway.directory.cards import PractitionerCard
from gateway.directory.model import (
    DirectoryResource,
    Organization,
    Practitioner,
    PractitionerRole,
    decode_directory,
    local_id,
    rpps_of,
)

log = logging.getLogger("gateway.directory")


@dataclass(slots=True)
class PractitionerRecord:
    """One practitioner with its practice organizations (what a card is built from)."""

    practitioner: Practitioner
    organizations: list[Organization]
    source: str
    #: Built on first use (labels and coordinates need async look-ups).
    card: PractitionerCard | None = None


@dataclass(slots=True)
class DirectoryIndex:
    practitioners: dict[str, Practitioner] = field(default_factory=dict)  # by RPPS
    roles: dict[str, list[PractitionerRole]] = field(default_factory=dict)  # by practitioner id
    organizations: dict[str, Organization] = field(default_factory=dict)  # by id
    source: str = "snapshot"
    _records: dict[str, PractitionerRecord] = field(default_factory=dict)

    def add(self, resources: list[DirectoryResource]) -> None:
        self._records.clear()
        for resource in resources:
            if isinstance(resource, Practitioner):
                rpps = rpps_of(resource)
                if rpps:
                    self.practitioners[rpps] = resource
            elif isinstance(resource, PractitionerRole):
                owner = local_id(resource.practitioner)
                if owner:
                    self.roles.setdefault(owner, []).append(resource)
            else:
                self.organizations[resource.id] = resource

    def record(self, rpps: str) -> PractitionerRecord | None:
        """The same record object each time, so its card is built once."""
        known = self._records.get(rpps)
        if known is not None:
            return known
        practitioner = self.practitioners.get(rpps)
        if practitioner is None:
            return None
        organizations = []
        for role in self.roles.get(practitioner.id, []):
            org_id = local_id(role.organization)
            if role.active is not False and org_id and org_id in self.organizations:
                organizations.append(self.organizations[org_id])
        self._records[rpps] = PractitionerRecord(practitioner, organizations, self.source)
        return self._records[rpps]

    def records(self) -> list[PractitionerRecord]:
        return [r for rpps in self.practitioners if (r := self.record(rpps)) is not None]

    @classmethod
    def from_resources(cls, resources: list[DirectoryResource], source: str) -> DirectoryIndex:
        index = cls(source=source)
        index.add(resources)
        return index

    @classmethod
    def load(cls, directory: Path) -> DirectoryIndex:
        """Every directory resource under ``directory``; a bad file is logged and skipped."""
        index = cls(source="snapshot")
        if not directory.is_dir():
            return index
        for path in sorted(directory.rglob("*.json")):
            try:
                index.add(decode_directory(path.read_bytes())[0])
            except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("snapshot file skipped", extra={"file": str(path), "error": str(exc)})
        return index
