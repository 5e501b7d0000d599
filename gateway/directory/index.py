"""Practitioners, roles and organizations indexed for card building.

The same index serves the snapshot (its Practitioners, PractitionerRoles and Organizations,
exactly as the Annuaire returns them, given by ``gateway.snapshot``) and each upstream answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
from gateway.snapshot import SnapshotReader, read_snapshot

RESOURCE_TYPES = ("Practitioner", "PractitionerRole", "Organization")


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

    def read_from(self, reader: SnapshotReader) -> None:
        reader.register(RESOURCE_TYPES, self._take)

    def _take(self, raw: bytes, file: Path) -> None:
        self.add(decode_directory(raw)[0])

    @classmethod
    def load(cls, directory: Path) -> DirectoryIndex:
        """Every directory resource under ``directory`` (tools, tests; the gateway reads its
        snapshot once for every loader); a refused file or resource is logged and skipped."""
        index = cls(source="snapshot")
        read_snapshot(directory, index)
        return index
