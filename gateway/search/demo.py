"""``gateway demo generate``: a fictitious snapshot of N practitioners for demos and benchmarks.

Practice locations are spread over real communes in proportion to their population (the
commune reference), jittered around the commune's point; a practitioner's second or third
office is in the same département. IDNPS have a valid format (``8`` + 11-digit RPPS with a
Luhn check digit, all in the ``29…`` range, and every family name starts with ``DEMO-``
so nobody mistakes them for real people). Profession and specialty mix, SAS participation,
first free slots and CPTS membership (for CPTS covering the location's commune) are drawn
from one seeded generator: the same ``--seed`` and ``--now`` give the same file.

The output directory becomes a full snapshot: the bundled demo terminology and directory
files are copied next to ``directory/practice-locations.npz``, and
``availability/subscriptions.csv`` subscribes the generated practitioners to the built-in
demo agenda (source ``demo`` of ``mappings/agenda_sources.csv``), and its two fictitious
SOS Médecins associations to its SOS side (source ``demo-sos``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gateway.availability.demo_sos import ASSOCIATIONS
from gateway.availability.subscriptions import (
    SUBSCRIPTIONS_FILE,
    Association,
    Subscription,
    format_subscriptions,
)
from gateway.directory.cpts import CptsIndex
from gateway.directory.identifiers import IDNPS_OFFSET
from gateway.directory.locations_file import (
    LOCATIONS_FILE,
    NO_SLOT,
    Columns,
    save_columns,
    validate,
)
from gateway.files import write_atomically
from gateway.geo.communes import PLM_CITIES, CommuneIndex

#: Without the families of the hand-written FHIR practitioners (MARTIN, DURAND, LEROY): their
#: names keep showing the SAS identification rule (one DEMO-DURAND Paul, two DEMO-MARTIN
#: Claire), and each generated name is shared by many practitioners.
FAMILIES = [
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFEBVRE",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MULLER",
    "LEFEVRE",
    "FAURE",
    "ANDRE",
    "MERCIER",
    "BLANC",
    "GUERIN",
    "BOYER",
    "GARNIER",
    "CHEVALIER",
]
GIVENS = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Emma",
    "Inès",
    "Sarah",
    "Julie",
    "Claire",
    "Anne",
    "Marie",
    "Sophie",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Paul",
    "Thomas",
    "Nicolas",
    "Pierre",
    "Julien",
    "Antoine",
    "Mathieu",
    "Karim",
    "Yanis",
    "Élodie",
]
#: (TRE_G15 profession, TRE_R38 specialty or "", weight)
PROFILES = (
    ("10", "SM54", 0.40),  # médecin généraliste
    ("10", "SM04", 0.03),
    ("10", "SM38", 0.03),
    ("10", "SM40", 0.03),
    ("10", "SM16", 0.02),
    ("10", "SM19", 0.02),
    ("10", "SM42", 0.02),
    ("40", "", 0.13),  # chirurgien-dentiste
    ("50", "", 0.07),  # sage-femme
    ("70", "", 0.20),  # masseur-kinésithérapeute
    ("60", "", 0.05),  # infirmier
)
JITTER_KM = 1.2
#: The agenda source of the demo subscriptions: the built-in fictitious agenda.
DEMO_SOURCE = "demo"
#: The SOS Médecins side of the built-in agenda (a source of kind sos).
DEMO_SOS_SOURCE = "demo-sos"
#: Share of the subscribed participants who also see patients beyond their slots.
BEYOND_SLOTS_SHARE = 0.10
#: Share of the non-participants subscribed anyway (participant=false): an agenda
#: connected to the SAS does not make its practitioner a participant.
SUBSCRIBED_NON_PARTICIPANTS = 0.05


@dataclass(frozen=True, slots=True)
class Generated:
    practitioners: int
    locations: int
    path: Path


def luhn_check_digits(bodies: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each 10-digit number, the digit that makes it + that digit Luhn-valid."""
    total = np.zeros_like(bodies)
    for k in range(10):  # k = 0 is the rightmost digit, next to the check digit: doubled
        digit = (bodies // 10**k) % 10
        if k % 2 == 0:
            digit = np.where(digit > 4, digit * 2 - 9, digit * 2)
        total += digit
    check: npt.NDArray[np.int64] = (10 - total % 10) % 10
    return check


def generate_columns(
    practitioners: int, seed: int, now: datetime, communes: CommuneIndex, cpts: CptsIndex
) -> Columns:
    if practitioners < 1:
        raise ValueError("practitioners must be at least 1")
    rng = np.random.default_rng(seed)
    places = [
        c
        for c in communes.records()
        if c.kind in {"COM", "ARM"} and c.insee not in PLM_CITIES and (c.population or 0) > 0
    ]
    weights = np.array([c.population or 0 for c in places], dtype=np.float64)
    weights /= weights.sum()
    place_lat = np.array([c.lat for c in places])
    place_lon = np.array([c.lon for c in places])
    place_insee = np.array([c.insee for c in places], dtype="S5")
    departements = sorted({c.departement for c in places})
    place_dep = np.array([departements.index(c.departement) for c in places])
    place_cpts = np.array(
        [
            next((m.cpts.finess for m in cpts.covering(c.insee) if m.cpts.finess), "")
            for c in places
        ],
        dtype="S14",
    )
    counts = rng.choice([1, 2, 3], size=practitioners, p=[0.82, 0.14, 0.04])
    owner = np.repeat(np.arange(practitioners), counts)
    ordinal = (np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)).astype(
        np.uint8
    )
    place = rng.choice(len(places), size=practitioners, p=weights)[owner]
    # Second and third offices: another commune of the same département.
    extra = np.flatnonzero(ordinal > 0)
    extra_dep = place_dep[place[extra]]
    for dep in np.unique(extra_dep):
        rows = extra[extra_dep == dep]
        members = np.flatnonzero(place_dep == dep)
        p = weights[members] / weights[members].sum()
        place[rows] = members[rng.choice(members.size, size=rows.size, p=p)]
    n = owner.size
    lat = place_lat[place] + rng.normal(0, JITTER_KM / 111.2, n)
    lon = place_lon[place] + rng.normal(0, JITTER_KM / 111.2, n) / np.cos(np.radians(lat))
    profile = rng.choice(len(PROFILES), size=practitioners, p=[w for *_, w in PROFILES])[owner]
    doctor = np.array([code == "10" for code, _, _ in PROFILES])[profile]
    participant = rng.random(n) < np.where(doctor, 0.45, 0.10)
    has_slot = rng.random(n) < np.where(participant, 0.6, 0.2)
    base = int(now.timestamp()) // 3600 * 3600
    first_slot = np.where(has_slot, base + rng.integers(1, 72, n) * 3600, NO_SLOT)
    member = rng.random(n) < np.where(doctor, 0.5, 0.3)
    bodies = 2_900_000_000 + rng.permutation(10**8)[:practitioners].astype(np.int64)
    idnps = IDNPS_OFFSET + bodies * 10 + luhn_check_digits(bodies)  # 8 + a valid RPPS
    families = np.array([f"DEMO-{f}" for f in FAMILIES], dtype="S40")
    givens = np.array([g.encode() for g in GIVENS], dtype="S40")
    return validate(
        {
            "idnps": idnps[owner],
            "ordinal": ordinal,
            "lat": lat,
            "lon": lon,
            "insee": place_insee[place],
            "profession": np.array([code for code, _, _ in PROFILES], dtype="S4")[profile],
            "specialty": np.array([spec for _, spec, _ in PROFILES], dtype="S8")[profile],
            "participant": participant,
            "first_slot": first_slot,
            "cpts": np.where(member, place_cpts[place], b""),
            "family": families[rng.integers(0, len(FAMILIES), practitioners)][owner],
            "given": givens[rng.integers(0, len(GIVENS), practitioners)][owner],
        },
        "generator",
    )


def write_snapshot(
    out: Path,
    columns: Columns,
    *,
    template: Path,
    meta: dict[str, object],
) -> Generated:
    """``out`` = the template snapshot's files + the generated locations."""
    for sub in ("terminology", "directory"):
        source = template / sub
        if source.is_dir() and source.resolve() != (out / sub).resolve():
            shutil.copytree(source, out / sub, dirs_exist_ok=True)
    path = out / "directory" / LOCATIONS_FILE
    save_columns(path, columns, meta)
    practitioners = int(np.unique(columns["idnps"]).size)
    return Generated(practitioners, int(columns["idnps"].size), path)


def demo_subscriptions(columns: Columns, seed: int) -> list[Subscription]:
    """The generated practitioners' subscriptions to the demo agenda, by IDNPS.

    A practitioner takes part when any of their locations does (participation is per
    location in the columns, a subscription per practitioner). Every participant is
    subscribed, ``BEYOND_SLOTS_SHARE`` of them with ``beyond_slots``, and
    ``SUBSCRIBED_NON_PARTICIPANTS`` of the others with ``participant`` false.
    """
    practitioners, owner = np.unique(columns["idnps"], return_inverse=True)
    participant = np.zeros(practitioners.size, dtype=bool)
    np.logical_or.at(participant, owner, columns["participant"])
    # Its own generator: drawing from generate_columns' would change every location of a
    # snapshot already generated with the same seed.
    draw = np.random.default_rng([seed, 1]).random(practitioners.size)
    chosen = participant | (draw < SUBSCRIBED_NON_PARTICIPANTS)
    beyond = participant & (draw < BEYOND_SLOTS_SHARE)
    return [
        Subscription(str(idnps), DEMO_SOURCE, bool(takes_part), beyond_slots=bool(extra))
        for idnps, takes_part, extra in zip(
            practitioners[chosen], participant[chosen], beyond[chosen], strict=True
        )
    ]


def demo_associations() -> list[Association]:
    """The demo agenda's SOS Médecins associations, read from ``DEMO_SOS_SOURCE``."""
    return [Association(a.identifier, DEMO_SOS_SOURCE, True) for a in ASSOCIATIONS]


def write_subscriptions(out: Path, columns: Columns, seed: int) -> list[Subscription]:
    """``out/availability/subscriptions.csv`` for the generated practitioners (and the
    demo SOS Médecins associations, last)."""
    items = demo_subscriptions(columns, seed)
    comments = [
        f"Demo subscriptions written by gateway demo generate (seed {seed}): the generated",
        f"practitioners whose slots are read from the built-in demo agenda (source {DEMO_SOURCE}).",
    ]
    text = format_subscriptions(items, comments, demo_associations())
    write_atomically(out / SUBSCRIPTIONS_FILE, text.encode())
    return items
