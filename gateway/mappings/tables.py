"""The steward tables the search reads, loaded and validated together, swapped as a whole.

``Mappings.version`` is a content hash of the files, so every replica loading the same
files reports the same version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from gateway.mappings.authorities import AuthorityList, load_authorities
from gateway.mappings.csvfile import MappingError
from gateway.mappings.radius import RadiusTable, load_radius_table

AUTHORITIES_FILE = "lrm_authorities.csv"
RADIUS_FILE = "departement_radius.csv"


@dataclass(frozen=True, slots=True)
class Mappings:
    authorities: AuthorityList
    radii: RadiusTable
    version: str


def load_mappings(directory: Path, known_departements: Collection[str]) -> Mappings:
    """Every table of ``directory``; ``MappingError`` lists every problem of every file."""
    files = [directory / AUTHORITIES_FILE, directory / RADIUS_FILE]
    problems: list[str] = []
    authorities: AuthorityList | None = None
    radii: RadiusTable | None = None
    try:
        authorities = load_authorities(files[0], known_departements)
    except MappingError as exc:
        problems.append(str(exc))
    try:
        radii = load_radius_table(files[1], known_departements)
    except MappingError as exc:
        problems.append(str(exc))
    if problems or authorities is None or radii is None:
        raise MappingError("\n".join(problems))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return Mappings(authorities, radii, digest.hexdigest()[:12])


class ActiveMappings:
    """The tables in force. Readers take ``current`` once per request; a reload replaces
    the reference in one assignment, so no request sees a mix of two versions."""

    def __init__(self, mappings: Mappings) -> None:
        self.current = mappings
