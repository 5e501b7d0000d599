"""The steward tables, loaded and validated together, swapped as a whole.

``Mappings.version`` is a content hash of the files, so every replica loading the same
files reports the same version. ``ActiveMappings`` holds the tables in force; a request
pins the version it started with (``pin``), so that a reload in the middle of a request
never gives it half old, half new tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from gateway.component import Live
from gateway.mappings.agenda import AgendaSource, load_agenda_sources
from gateway.mappings.authorities import AuthorityList, load_authorities
from gateway.mappings.codes import CodeChecker
from gateway.mappings.csvfile import MappingError
from gateway.mappings.nos import MirroredNos, load_nos
from gateway.mappings.radius import RadiusTable, load_radius_table
from gateway.mappings.specialties import SynonymTable, load_synonyms

NOS_FILE = "nos.csv"
AUTHORITIES_FILE = "lrm_authorities.csv"
SYNONYMS_FILE = "specialty_synonyms.csv"
RADIUS_FILE = "departement_radius.csv"
AGENDA_FILE = "agenda_sources.csv"
FILES = (NOS_FILE, AUTHORITIES_FILE, SYNONYMS_FILE, RADIUS_FILE, AGENDA_FILE)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Mappings:
    nos: list[MirroredNos]
    authorities: AuthorityList
    synonyms: SynonymTable
    radii: RadiusTable
    version: str
    #: Not blocking (e.g. a NOS listed but not in the snapshot until the next sync).
    warnings: tuple[str, ...] = ()
    #: Last, with a default: tables built before agenda sources existed still construct.
    agenda: list[AgendaSource] = field(default_factory=list)
    #: file name → the text these tables were read from (the console's diff with the disk).
    sources: dict[str, str] = field(default_factory=dict)


def load_mappings(
    directory: Path, known_departements: Collection[str], codes: CodeChecker | None = None
) -> Mappings:
    """Every table of ``directory``; ``MappingError`` lists every problem of every file."""
    problems: list[str] = []

    def attempt(load: Callable[[], T]) -> T | None:
        try:
            return load()
        except MappingError as exc:
            problems.append(str(exc))
            return None

    nos = attempt(lambda: load_nos(directory / NOS_FILE))
    authorities = attempt(
        lambda: load_authorities(directory / AUTHORITIES_FILE, known_departements)
    )
    synonyms = attempt(lambda: load_synonyms(directory / SYNONYMS_FILE, codes))
    radii = attempt(lambda: load_radius_table(directory / RADIUS_FILE, known_departements))
    agenda = attempt(lambda: load_agenda_sources(directory / AGENDA_FILE))
    if (
        problems
        or nos is None
        or authorities is None
        or synonyms is None
        or radii is None
        or agenda is None
    ):
        raise MappingError("\n".join(problems))
    warnings = (
        tuple(
            f"{directory / NOS_FILE}:{entry.line}: {entry.name} is not in the terminology snapshot "
            "yet (run gateway sync terminology)"
            for entry in nos
            if codes is not None and not codes.has_nos(entry.name)
        )
        + synonyms.warnings
    )
    raw = read_sources(directory)
    sources = {name: data.decode("utf-8-sig", errors="replace") for name, data in raw.items()}
    return Mappings(nos, authorities, synonyms, radii, version_of(raw), warnings, agenda, sources)


def read_sources(directory: Path) -> dict[str, bytes]:
    """The bytes of every table file (``OSError`` when one cannot be read)."""
    return {name: (directory / name).read_bytes() for name in FILES}


def version_of(sources: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in FILES:
        digest.update(name.encode() + b"\0" + sources[name] + b"\0")
    return digest.hexdigest()[:12]


def content_version(directory: Path) -> str:
    return version_of(read_sources(directory))


_PINNED: ContextVar[Mappings | None] = ContextVar("pinned_mappings", default=None)


class ActiveMappings(Live[Mappings]):
    """The tables in force; ``swap`` replaces them in one assignment."""

    @property
    def current(self) -> Mappings:
        """The version pinned for this request, else the latest."""
        pinned = _PINNED.get()
        return pinned if pinned is not None else self._current

    @contextmanager
    def pin(self) -> Iterator[Mappings]:
        token = _PINNED.set(self._current)
        try:
            yield self._current
        finally:
            _PINNED.reset(token)
