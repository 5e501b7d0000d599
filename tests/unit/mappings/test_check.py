"""``gateway mappings check`` and ``gateway mappings diff``."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.mappings.check import diff_directories, format_diff
from tests.conftest import copy_mappings


def replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_check_passes_on_the_committed_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mappings", "check"]) == 0
    out = capsys.readouterr().out
    assert "OK " in out
    assert "LRM/SAMU authorities" in out
    assert "2 agenda sources" in out


def test_check_reports_a_bad_agenda_source_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_mappings(tmp_path / "m")
    with (directory / "agenda_sources.csv").open("a", encoding="utf-8") as handle:
        handle.write("editeur-a,psindiv,http://fhir.editeur-a.example,10,72\n")
    lines = (directory / "agenda_sources.csv").read_text(encoding="utf-8").splitlines()
    assert main(["mappings", "check", "--dir", str(directory)]) == 1
    err = capsys.readouterr().err
    assert "1 problem(s)" in err
    assert f"agenda_sources.csv:{len(lines)}: base_url" in err
    assert "http:// is only for a loopback host" in err


def test_check_reports_every_problem_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_mappings(tmp_path / "m")
    with (directory / "specialty_synonyms.csv").open("a", encoding="utf-8") as handle:
        handle.write("radio-pharmacien,TRE_R38,SP01,\n")
    replace_line(directory / "departement_radius.csv", "\n48,Lozère,50,25,", "\n48,Lozère,50,-25,")
    assert main(["mappings", "check", "--dir", str(directory)]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "specialty_synonyms.csv:" in err
    assert "SP01" in err
    assert "deprecated" in err
    assert "departement_radius.csv:" in err
    assert "enlargement_km is -25" in err


def test_diff_lists_added_removed_and_changed_rows(tmp_path: Path) -> None:
    old = copy_mappings(tmp_path / "old")
    new = copy_mappings(tmp_path / "new")
    with (new / "lrm_authorities.csv").open("a", encoding="utf-8") as handle:
        handle.write("SAMU-92,SAMU des Hauts-de-Seine,92,yes,no\n")
    replace_line(new / "specialty_synonyms.csv", "cardio,TRE_R38,SM04,abbreviation\n", "")
    replace_line(new / "departement_radius.csv", "\n48,Lozère,50,25,", "\n48,Lozère,40,20,")
    replace_line(new / "lrm_authorities.csv", "TEST-SAMU999,", "TEST-SAMU999,")  # unchanged
    replace_line(
        new / "agenda_sources.csv", "\ndemo,psindiv,demo:,50,72", "\ndemo,psindiv,demo:,5,72"
    )
    diffs = {d.file: d for d in diff_directories(old, new)}
    assert diffs["lrm_authorities.csv"].added == [
        "code=SAMU-92, label=SAMU des Hauts-de-Seine, departement=92, active=yes, test=no"
    ]
    assert diffs["lrm_authorities.csv"].removed == []
    assert diffs["specialty_synonyms.csv"].removed == [
        "text=cardio, nos=TRE_R38, code=SM04, note=abbreviation"
    ]
    assert diffs["departement_radius.csv"].changed == [
        "48: default_radius_km: 50 → 40; enlargement_km: 25 → 20"
    ]
    assert diffs["agenda_sources.csv"].changed == ["demo: rate_per_s: 50 → 5"]
    assert diffs["nos.csv"].empty
    text = format_diff(list(diffs.values()))
    assert "+ added    code=SAMU-92" in text
    assert "- removed  text=cardio" in text
    assert "~ changed  48:" in text
    assert format_diff(diff_directories(old, old)) == "no change"


def test_diff_keys_synonyms_by_normalised_text(tmp_path: Path) -> None:
    old = copy_mappings(tmp_path / "old")
    new = copy_mappings(tmp_path / "new")
    replace_line(new / "specialty_synonyms.csv", "\nkiné,TRE_G15,70,", "\nKINE,TRE_G15,70,")
    (changed,) = diff_directories(old, new)[2].changed
    assert changed == "KINE: text: kiné → KINE"


def test_diff_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = copy_mappings(tmp_path / "old")
    assert main(["mappings", "diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out.strip() == "no change"
    assert main(["mappings", "diff", str(old), str(tmp_path / "absent")]) == 2
