"""The stewards' console view: the tables in force against the files on disk."""

from __future__ import annotations

from pathlib import Path

from gateway.geo.communes import load_communes
from gateway.mappings.status import mappings_status
from gateway.mappings.tables import Mappings, load_mappings
from tests.conftest import copy_mappings


def loader(directory: Path) -> tuple[Mappings, object]:
    departements = load_communes().departement_codes

    def check() -> Mappings:
        return load_mappings(directory, departements)

    return check(), check


def test_files_as_loaded_have_no_problem_and_no_diff(tmp_path: Path) -> None:
    directory = copy_mappings(tmp_path)
    running, check = loader(directory)
    status = mappings_status(running, directory, check)  # type: ignore[arg-type]
    assert status.disk_valid
    assert status.disk_version == status.version == running.version
    radius = next(t for t in status.tables if t.file == "departement_radius.csv")
    assert radius.rows_running == radius.rows_disk == 101
    assert all(t.diff is not None and t.diff.empty and not t.problems for t in status.tables)


def test_a_broken_table_names_its_file_and_line_and_the_diff_shows_edits(tmp_path: Path) -> None:
    directory = copy_mappings(tmp_path)
    running, check = loader(directory)
    radius = directory / "departement_radius.csv"
    line = len(radius.read_text("utf-8").splitlines()) + 1
    radius.write_text(radius.read_text("utf-8") + "99,abc\n", encoding="utf-8")
    synonyms = directory / "specialty_synonyms.csv"
    synonyms.write_text(synonyms.read_text("utf-8") + "toubib,TRE_R38,SM54,\n", encoding="utf-8")
    status = mappings_status(running, directory, check)  # type: ignore[arg-type]
    assert not status.disk_valid
    assert status.disk_version != status.version
    by_file = {t.file: t for t in status.tables}
    [problem] = by_file["departement_radius.csv"].problems
    assert problem.startswith(f"{radius}:{line}: expected 7 fields")
    added = by_file["specialty_synonyms.csv"].diff
    assert added is not None
    assert added.added == ["text=toubib, nos=TRE_R38, code=SM54"]
    assert (
        by_file["specialty_synonyms.csv"].rows_disk
        == by_file["specialty_synonyms.csv"].rows_running + 1
    )  # type: ignore[operator]
    assert status.other_problems == []


def test_a_wrong_header_cannot_be_compared(tmp_path: Path) -> None:
    directory = copy_mappings(tmp_path)
    running, check = loader(directory)
    nos = directory / "nos.csv"
    nos.write_text("name;note\n", encoding="utf-8")
    status = mappings_status(running, directory, check)  # type: ignore[arg-type]
    table = next(t for t in status.tables if t.file == "nos.csv")
    assert table.rows_disk is None
    assert table.diff is None
    assert table.problems
    assert "header" in table.problems[0]
