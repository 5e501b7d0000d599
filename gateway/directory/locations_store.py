"""The working store of ``gateway sync locations``: an SQLite file beside the output.

It holds what the directory said (roles, practitioners, organizations, one row each,
upserted page by page), the address cache of the geocoder and the state of the run (the
``next`` link of the page to fetch, the start of the last complete run). Why SQLite (the
standard library's): the national directory (~1.1M roles) does not fit comfortably in
Python objects, each page must be committed with its resume point in one transaction so an
interrupted run resumes where it stopped, and an incremental run updates rows by key.

Only public directory data is stored (practice addresses, professional names), never
anything about patients.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STORE_FILE = "practice-locations.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS practitioner (
    id TEXT PRIMARY KEY, idnps TEXT NOT NULL, family TEXT NOT NULL, given TEXT NOT NULL,
    profession TEXT NOT NULL, specialty TEXT NOT NULL, active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS organization (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, line TEXT NOT NULL, insee TEXT NOT NULL,
    postcode TEXT NOT NULL, city TEXT NOT NULL, address TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS organization_address ON organization(address);
CREATE TABLE IF NOT EXISTS role (
    id TEXT PRIMARY KEY, practitioner TEXT NOT NULL, organization TEXT NOT NULL,
    generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS geocoded (
    address TEXT PRIMARY KEY, lat REAL NOT NULL, lon REAL NOT NULL, precision TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class PractitionerRow:
    id: str
    idnps: str
    family: str
    given: str
    profession: str
    specialty: str
    active: bool


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    id: str
    name: str
    line: str
    insee: str
    postcode: str
    city: str

    @property
    def address_key(self) -> str:
        """What the geocoder is asked: an unchanged address is never geocoded twice."""
        return "|".join((self.line.casefold(), self.postcode, self.insee))


@dataclass(frozen=True, slots=True)
class RoleRow:
    id: str
    practitioner: str
    organization: str
    active: bool


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float
    precision: str


@dataclass(frozen=True, slots=True)
class LocationRow:
    """One active role joined with its practitioner, organization and place."""

    role: str
    practitioner: PractitionerRow
    organization: OrganizationRow
    place: Place | None


class LocationsStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        # WAL + NORMAL: one fsync per checkpoint, not per page; a crash loses at most the
        # last page, which the resume point (committed with it) makes fetch again.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- state ----------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, name: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM state WHERE name = ?", (name,))
        else:
            self.db.execute(
                "INSERT INTO state VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
                (name, value, value),
            )

    def commit(self) -> None:
        self.db.commit()

    # -- directory rows -------------------------------------------------------------------
    def upsert_practitioners(self, rows: Iterable[PractitionerRow]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO practitioner VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((r.id, r.idnps, r.family, r.given, r.profession, r.specialty, int(r.active))
             for r in rows),
        )  # fmt: skip

    def upsert_organizations(self, rows: Iterable[OrganizationRow]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO organization VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((r.id, r.name, r.line, r.insee, r.postcode, r.city, r.address_key) for r in rows),
        )

    def apply_roles(self, rows: Iterable[RoleRow], generation: int) -> None:
        """Active roles are upserted (marked with this run's generation); inactive ones
        removed."""
        for row in rows:
            if row.active:
                self.db.execute(
                    "INSERT OR REPLACE INTO role VALUES (?, ?, ?, ?)",
                    (row.id, row.practitioner, row.organization, generation),
                )
            else:
                self.db.execute("DELETE FROM role WHERE id = ?", (row.id,))

    def remove_roles_before(self, generation: int) -> int:
        """After a full run: roles it did not see are gone from the directory."""
        cursor = self.db.execute("DELETE FROM role WHERE generation < ?", (generation,))
        return cursor.rowcount

    def known(self, table: str, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the ``practitioner`` or ``organization`` table holds (or, for
        ``geocoded``, which address keys the cache holds)."""
        column = _KEYS.get(table)
        if column is None:
            raise ValueError(table)
        wanted = list(ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT {column} FROM {table} WHERE {column} IN ({marks})"
            found.update(r[0] for r in self.db.execute(query, chunk))
        return found

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("role", "practitioner", "organization", "geocoded")
        }

    # -- geocoding ------------------------------------------------------------------------
    def addresses_to_geocode(self) -> list[tuple[str, str, str, str]]:
        """(address key, line, postcode, INSEE code) of each address of an organization with
        a role that the cache lacks, once each, in key order: the cache's B-tree then grows
        at its end (inserted in the roles' order, a national first run spent ~10 s more in
        page writes, most of them in commits). Tuples, not rows: ~600,000 of them."""
        query = """
            SELECT o.address, o.line, o.postcode, o.insee
            FROM organization o
            WHERE o.id IN (SELECT organization FROM role)
              AND NOT EXISTS (SELECT 1 FROM geocoded g WHERE g.address = o.address)
            ORDER BY o.address
        """
        found: list[tuple[str, str, str, str]] = []
        for row in self.db.execute(query):
            if not found or found[-1][0] != row[0]:
                found.append(row)
        return found

    def remember_places(self, places: Iterable[tuple[str, Place]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO geocoded VALUES (?, ?, ?, ?)",
            ((key, p.lat, p.lon, p.precision) for key, p in places),
        )

    # -- export ---------------------------------------------------------------------------
    def location_rows(self, chunk: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """Every active role with an active practitioner, as raw rows in chunks (see
        :data:`LOCATION_COLUMNS`), ordered by practitioner then role (so a practitioner's
        locations get stable ordinals). No object per row: the export reads a million."""
        cursor = self.db.execute(_LOCATIONS_QUERY)
        while rows := cursor.fetchmany(chunk):
            yield rows

    def locations(self) -> Iterator[LocationRow]:
        """:meth:`location_rows` as objects."""
        for rows in self.location_rows():
            for row in rows:
                place = Place(row[14], row[15], row[16]) if row[14] is not None else None
                practitioner = PractitionerRow(
                    row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7])
                )
                organization = OrganizationRow(row[8], row[9], row[10], row[11], row[12], row[13])
                yield LocationRow(row[0], practitioner, organization, place)


#: The key column of each table :meth:`LocationsStore.known` looks in.
_KEYS = {"practitioner": "id", "organization": "id", "geocoded": "address"}
#: The columns of :meth:`LocationsStore.location_rows`, in order.
LOCATION_COLUMNS = (
    "role", "practitioner", "idnps", "family", "given", "profession", "specialty", "active",
    "organization", "name", "line", "insee", "postcode", "city", "lat", "lon", "precision",
)  # fmt: skip
_LOCATIONS_QUERY = """
    SELECT r.id,
           p.id, p.idnps, p.family, p.given, p.profession, p.specialty, p.active,
           o.id, o.name, o.line, o.insee, o.postcode, o.city,
           g.lat, g.lon, g.precision
    FROM role r
    JOIN practitioner p ON p.id = r.practitioner
    JOIN organization o ON o.id = r.organization
    LEFT JOIN geocoded g ON g.address = o.address
    WHERE p.active = 1
    ORDER BY p.idnps, r.id
"""
