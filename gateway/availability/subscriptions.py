"""``<snapshot>/availability/subscriptions.csv``: whose free slots are read, from which source.

DESIGN.md §9.2. The operators' file (it changes with every practitioner who joins the SAS,
so it lives with the snapshot, not with the stewards' tables): one row per practitioner,
the agenda source (``mappings/agenda_sources.csv``) that holds their agenda, and their SAS
participation mode: "à titre individuel" (their PUBLIC/PRO/SNP slots) or "via ma CPTS"
(also the CPTS slots of one site), and whether they see patients beyond their slots (the
"surnuméraire" offer).

A row whose source is of kind ``sos`` names an SOS Médecins association instead (first
column: its IDNST, "3" + SIRET, or the SIRET): the slots of every consultation site of
that association are read (``Association``); the practitioner-only columns stay empty.

Unlike a steward table, one bad line must not hide every practitioner's slots: each bad
line is reported (``file:line: why``) and skipped, the others are kept.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from gateway.directory.identifiers import (
    is_finess,
    parse_practitioner_id,
    parse_sos_association,
)
from gateway.errors import InvalidInput
from gateway.geo.insee import parse_insee
from gateway.mappings.csvfile import MappingError, Problems, Row, header_of, parse_rows

#: Relative to the snapshot directory.
SUBSCRIPTIONS_FILE = "availability/subscriptions.csv"
REQUIRED = ("idnps", "source", "participant")
OPTIONAL = ("mode", "cpts_finess", "cpts_site_insee", "beyond_slots")
Mode = Literal["individual", "cpts"]
_MODES: dict[str, Mode] = {mode: mode for mode in get_args(Mode)}
_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True, slots=True)
class Subscription:
    idnps: str
    source: str
    participant: bool
    mode: Mode = "individual"
    cpts_finess: str | None = None
    #: None: the CPTS slots are not tied to one site.
    cpts_site_insee: str | None = None
    beyond_slots: bool = False
    line: int = 0


@dataclass(frozen=True, slots=True)
class Association:
    """An SOS Médecins association whose sites' slots are read from a source of kind sos."""

    #: Its IDNST: "3" + SIRET (the value of ``actor:Location.organization.identifier``).
    identifier: str
    source: str
    participant: bool
    line: int = 0


@dataclass(frozen=True, slots=True)
class Subscriptions:
    items: dict[str, Subscription]
    problems: list[str]
    version: str
    #: SOS Médecins associations by identifier ("3" + SIRET).
    associations: dict[str, Association] = field(default_factory=dict)

    def by_source(self, source: str) -> list[Subscription]:
        """The subscriptions read from ``source``, in file order."""
        return [item for item in self.items.values() if item.source == source]

    def owners(self, source: str) -> list[str]:
        """Whom a refresh of ``source`` asks for: IDNPS, or associations' identifiers."""
        found = [item.idnps for item in self.by_source(source)]
        return found + [a.identifier for a in self.associations.values() if a.source == source]


def _header_problem(header: tuple[str, ...]) -> str | None:
    optional = header[len(REQUIRED) :]
    if (
        header[: len(REQUIRED)] == REQUIRED
        and set(optional) <= set(OPTIONAL)
        and len(set(optional)) == len(optional)
    ):
        return None
    return (
        f"the header must be {','.join(REQUIRED)}, then any of {','.join(OPTIONAL)} "
        "(each once, separated by commas)"
    )


def _flag(problems: Problems, line: int, column: str, value: str, default: bool | None) -> bool:
    """``value`` as a boolean; empty gives ``default`` (None: the column is required)."""
    if not value and default is not None:
        return default
    flag = _FLAGS.get(value.lower())
    if flag is None:
        problems.add(line, f"{column} is '{value}', not true or false (or yes/no, 1/0)")
        return False
    return flag


def _subscription(
    problems: Problems, row: Row, idnps: str, sources: Collection[str]
) -> Subscription | None:
    """The subscription of one row whose IDNPS is already read, or None after its problems."""
    before = len(problems.messages)
    cells, line = row.cells, row.line
    source = cells["source"]
    if source not in sources:
        known = ", ".join(sorted(sources)) or "none is configured"
        problems.add(
            line, f"source '{source}' is not in mappings/agenda_sources.csv (known: {known})"
        )
    participant = _flag(problems, line, "participant", cells["participant"], None)
    beyond_slots = _flag(problems, line, "beyond_slots", cells.get("beyond_slots", ""), False)
    mode = _MODES.get(cells.get("mode", "").lower() or "individual")
    if mode is None:
        problems.add(line, f"mode is '{cells['mode']}', not individual or cpts")
    finess = cells.get("cpts_finess", "").upper() or None
    if finess is not None and not is_finess(finess):
        problems.add(line, f"cpts_finess is '{cells['cpts_finess']}', not a 9-character FINESS")
    site = cells.get("cpts_site_insee", "") or None
    if site is not None:
        try:
            site = parse_insee(site)
        except InvalidInput:
            problems.add(
                line,
                f"cpts_site_insee is '{site}', not an INSEE commune code (5 digits, or 2A/2B "
                "and 3 digits in Corsica)",
            )
    if mode == "cpts" and finess is None:
        problems.add(line, "mode is cpts but cpts_finess is empty: give the CPTS's FINESS")
    if mode == "individual" and (finess or site):
        # Most likely a forgotten mode=cpts: guessing either way would show wrong slots.
        problems.add(line, "cpts_finess and cpts_site_insee are only for mode cpts")
    if len(problems.messages) != before or mode is None:
        return None
    return Subscription(idnps, source, participant, mode, finess, site, beyond_slots, line)


def _association(problems: Problems, row: Row, identifier: str) -> Association | None:
    """The association of a row naming a source of kind sos, or None after its problems."""
    before = len(problems.messages)
    cells, line = row.cells, row.line
    participant = _flag(problems, line, "participant", cells["participant"], None)
    practitioner_only = [c for c in OPTIONAL if cells.get(c, "") not in ("", "false")]
    if practitioner_only:
        problems.add(
            line,
            f"{', '.join(practitioner_only)}: only for a practitioner; leave empty for an SOS "
            "Médecins association",
        )
    if len(problems.messages) != before:
        return None
    return Association(identifier, cells["source"], participant, line)


def load_subscriptions(
    path: Path, sources: Collection[str], sos: Collection[str] = ()
) -> Subscriptions:
    """Every valid line of ``path``; a missing file is no subscription and no problem.
    ``sos``: the names among ``sources`` of kind sos (their rows name associations)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Subscriptions({}, [], "")
    except OSError as exc:
        return Subscriptions({}, [f"{path}: cannot read the file ({exc})"], "")
    version = hashlib.sha256(data).hexdigest()[:12]
    problems = Problems(path)
    items: dict[str, Subscription] = {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(None, f"cannot read the file ({exc}); save it as UTF-8")
        return Subscriptions(items, problems.messages, version)
    header = header_of(text)
    if header is not None and (why := _header_problem(header[1])) is not None:
        problems.add(header[0], why)
        return Subscriptions(items, problems.messages, version)
    try:
        rows = parse_rows(text, header[1] if header else REQUIRED, problems)
    except MappingError:  # no header line: already in problems
        return Subscriptions(items, problems.messages, version)
    first_line: dict[str, int] = {}
    associations: dict[str, Association] = {}
    for row in rows:
        raw, association = row.cells["idnps"], row.cells["source"] in sos
        try:
            idnps = parse_sos_association(raw) if association else parse_practitioner_id(raw).idnps
        except InvalidInput as exc:
            problems.add(row.line, _identifier_problem(raw, row.cells["source"], exc, association))
            continue
        if idnps in first_line:
            # The first line owns the IDNPS even when it is itself wrong: fixing it must
            # not silently change which of the two lines is in force.
            what = "association" if association else "idnps"
            problems.add(
                row.line, f"{what} {idnps} is already subscribed on line {first_line[idnps]}"
            )
            continue
        first_line[idnps] = row.line
        if association:
            if (found := _association(problems, row, idnps)) is not None:
                associations[idnps] = found
        elif (subscription := _subscription(problems, row, idnps, sources)) is not None:
            items[idnps] = subscription
    return Subscriptions(items, problems.messages, version, associations)


def _identifier_problem(raw: str, source: str, exc: InvalidInput, association: bool) -> str:
    if association:
        return f"'{raw}': source '{source}' (kind sos) takes associations: {exc.message}"
    try:
        parse_sos_association(raw)
    except InvalidInput:
        return f"idnps '{raw}': {exc.message}"
    return (
        f"idnps '{raw}' looks like an SOS Médecins association ('3' + SIRET), which is read "
        f"from a source of kind sos; '{source}' is not one"
    )


def format_subscriptions(
    items: Iterable[Subscription],
    comments: Sequence[str] = (),
    associations: Iterable[Association] = (),
) -> str:
    """The file text for ``items`` (every column written) then ``associations`` (the
    practitioner-only columns empty), ``comments`` as ``#`` lines first."""
    out = io.StringIO()
    out.writelines(f"# {comment}\n" for comment in comments)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*REQUIRED, *OPTIONAL))
    for item in items:
        writer.writerow(
            (
                item.idnps,
                item.source,
                str(item.participant).lower(),
                item.mode,
                item.cpts_finess or "",
                item.cpts_site_insee or "",
                str(item.beyond_slots).lower(),
            )
        )
    for association in associations:
        blank = ("",) * len(OPTIONAL)
        writer.writerow(
            (association.identifier, association.source, str(association.participant).lower(),
             *blank)
        )  # fmt: skip
    return out.getvalue()
