"""``gateway demo generate``'s subscriptions of the generated practitioners to the demo agenda."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gateway.availability.subscriptions import (
    SUBSCRIPTIONS_FILE,
    format_subscriptions,
    load_subscriptions,
)
from gateway.directory.cpts import load_cpts_snapshot
from gateway.directory.cpts_source import communes_of
from gateway.directory.locations_file import LOCATIONS_FILE, load_columns
from gateway.geo.communes import load_communes
from gateway.mappings.agenda import load_agenda_sources
from gateway.mappings.tables import AGENDA_FILE
from gateway.search.demo import (
    demo_associations,
    demo_subscriptions,
    generate_columns,
    write_subscriptions,
)
from gateway.settings import DEFAULT_MAPPINGS_DIR, DEMO_SNAPSHOT_DIR

NOW = datetime(2026, 11, 26, 8, tzinfo=UTC)
SHIPPED = load_agenda_sources(DEFAULT_MAPPINGS_DIR / AGENDA_FILE)
SHIPPED_SOURCES = {s.name for s in SHIPPED}
SHIPPED_SOS = {s.name for s in SHIPPED if s.kind == "sos"}


@pytest.fixture(scope="module")
def generated() -> dict[str, np.ndarray]:
    communes = load_communes()
    cpts = load_cpts_snapshot(DEMO_SNAPSHOT_DIR, communes_of(communes))
    return generate_columns(20_000, 11, NOW, communes, cpts)


def participation(columns: dict[str, np.ndarray]) -> dict[str, bool]:
    """Per practitioner: takes part when any of their locations does."""
    out: dict[str, bool] = {}
    for idnps, flag in zip(columns["idnps"], columns["participant"], strict=True):
        out[str(idnps)] = out.get(str(idnps), False) or bool(flag)
    return out


def test_every_participant_is_subscribed_and_a_few_others_too(
    generated: dict[str, np.ndarray],
) -> None:
    takes_part = participation(generated)
    items = {s.idnps: s for s in demo_subscriptions(generated, 11)}
    participants = {i for i, flag in takes_part.items() if flag}
    others = set(takes_part) - participants
    assert participants <= set(items)
    assert all(items[i].participant for i in participants)
    subscribed_others = [items[i] for i in others if i in items]
    assert all(not s.participant and not s.beyond_slots for s in subscribed_others)
    assert 0.03 < len(subscribed_others) / len(others) < 0.07
    beyond = sum(items[i].beyond_slots for i in participants) / len(participants)
    assert 0.07 < beyond < 0.13
    assert {(s.source, s.mode, s.cpts_finess, s.cpts_site_insee) for s in items.values()} == {
        ("demo", "individual", None, None)
    }


def test_the_same_seed_gives_the_same_subscriptions(generated: dict[str, np.ndarray]) -> None:
    assert demo_subscriptions(generated, 11) == demo_subscriptions(generated, 11)
    assert demo_subscriptions(generated, 11) != demo_subscriptions(generated, 12)


def test_the_written_file_reads_back_without_problem(
    tmp_path: Path, generated: dict[str, np.ndarray]
) -> None:
    written = write_subscriptions(tmp_path, generated, 11)
    found = load_subscriptions(tmp_path / SUBSCRIPTIONS_FILE, SHIPPED_SOURCES, SHIPPED_SOS)
    assert found.problems == []
    assert [(s.idnps, s.participant, s.beyond_slots) for s in found.items.values()] == [
        (s.idnps, s.participant, s.beyond_slots) for s in written
    ]
    # and the demo agenda's SOS Médecins associations, read from its sos source
    assert list(found.associations.values()) == [
        replace(a, line=len(written) + 4 + n) for n, a in enumerate(demo_associations())
    ]
    assert {a.source for a in found.associations.values()} == SHIPPED_SOS


def test_the_bundled_subscriptions_are_the_generators_for_the_bundled_locations() -> None:
    # The bundled file was written by `gateway demo generate` with the bundled parameters;
    # this fails if the locations or the generator change without the file being rewritten.
    columns, meta = load_columns(DEMO_SNAPSHOT_DIR / "directory" / LOCATIONS_FILE)
    bundled = DEMO_SNAPSHOT_DIR / SUBSCRIPTIONS_FILE
    expected = demo_subscriptions(columns, int(meta["seed"]))
    body = bundled.read_text(encoding="utf-8").split("\n", 2)[2]  # after the two comments
    assert body == format_subscriptions(expected, associations=demo_associations())
    found = load_subscriptions(bundled, SHIPPED_SOURCES, SHIPPED_SOS)
    assert found.problems == []
    assert len(found.items) == len(expected) > 1000
