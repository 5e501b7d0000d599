"""``mappings/agenda_sources.csv``: the shipped demo source and the loader's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mappings.agenda import AgendaSource, load_agenda_sources, variable_stem
from gateway.mappings.csvfile import MappingError
from gateway.mappings.tables import AGENDA_FILE, FILES, content_version
from gateway.settings import DEFAULT_MAPPINGS_DIR
from tests.conftest import copy_mappings

HEADER = "name,kind,base_url,rate_per_s,window_hours"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / AGENDA_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(MappingError) as caught:
        load_agenda_sources(path)
    return str(caught.value).splitlines()


def test_the_shipped_file_holds_only_the_demo_agenda() -> None:
    demo, sos = load_agenda_sources(DEFAULT_MAPPINGS_DIR / AGENDA_FILE)
    assert (demo.name, demo.kind, demo.base_url) == ("demo", "psindiv", "demo:")
    assert (sos.name, sos.kind, sos.base_url) == ("demo-sos", "sos", "demo:")
    assert (demo.rate_per_s, demo.window_hours) == (50.0, 72)
    assert demo.demo
    assert sos.demo


def test_a_valid_file_loads_in_order_with_line_numbers_counting_comments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# comment",
        "",
        HEADER,
        "editeur-a,psindiv,https://fhir.editeur-a.example/sas/,10,72",
        "# another",
        'cpts_b,cpts,https://b.example:8443/fhir,"0,5",24',
        "sos,sos,http://127.0.0.1:9000/fhir,2.5,168",
        "local,psindiv,http://localhost/fhir,1,1",
    )
    assert load_agenda_sources(path) == [
        AgendaSource("editeur-a", "psindiv", "https://fhir.editeur-a.example/sas", 10.0, 72, 4),
        AgendaSource("cpts_b", "cpts", "https://b.example:8443/fhir", 0.5, 24, 6),
        AgendaSource("sos", "sos", "http://127.0.0.1:9000/fhir", 2.5, 168, 7),
        AgendaSource("local", "psindiv", "http://localhost/fhir", 1.0, 1, 8),
    ]


def test_a_file_with_only_the_header_has_no_source(tmp_path: Path) -> None:
    # Production without any editor yet: availability is simply off.
    assert load_agenda_sources(write(tmp_path, "# no source yet", HEADER)) == []


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("Editeur,psindiv,demo:,1,72", "name 'Editeur' must be 1 to 32 lower-case letters"),
        ("-a,psindiv,demo:,1,72", "name '-a' must be 1 to 32"),
        (f"{'a' * 33},psindiv,demo:,1,72", "must be 1 to 32 lower-case"),
        (",psindiv,demo:,1,72", "name '' must be 1 to 32"),
        ("a,indiv,demo:,1,72", "kind 'indiv' must be one of psindiv, cpts, sos"),
        ("a,psindiv,ftp://x.example,1,72", "base_url 'ftp://x.example' must be an https://"),
        ("a,psindiv,https://,1,72", "base_url 'https://' must be an https://"),
        ("a,psindiv,fhir.example/sas,1,72", "must be an https:// FHIR base URL, or demo:"),
        ("a,psindiv,DEMO:,1,72", "base_url 'DEMO:' must be"),
        ("a,psindiv,https://x.example:99999,1,72", "has an invalid port"),
        ("a,psindiv,https://x.example/a b,1,72", "base_url 'https://x.example/a b' must be"),
        ("a,psindiv,https://u:p@x.example/fhir,1,72", "must not hold a user or password"),
        ("a,psindiv,https://x.example/fhir?k=1,1,72", "without '?' or '#'"),
        ("a,psindiv,http://x.example/fhir,1,72", "http:// is only for a loopback host"),
        ("a,psindiv,http://10.0.0.1/fhir,1,72", "http:// is only for a loopback host"),
        ("a,psindiv,demo:,0,72", "rate_per_s is '0', not a number of calls per second above 0"),
        ("a,psindiv,demo:,-1,72", "rate_per_s is '-1'"),
        ("a,psindiv,demo:,fast,72", "rate_per_s is 'fast'"),
        ("a,psindiv,demo:,inf,72", "rate_per_s is 'inf'"),
        ("a,psindiv,demo:,,72", "rate_per_s is ''"),
        ("a,psindiv,demo:,1,0", "window_hours is '0', not a whole number of hours from 1 to 168"),
        ("a,psindiv,demo:,1,169", "window_hours is '169'"),
        ("a,psindiv,demo:,1,1.5", "window_hours is '1.5'"),
    ],
)
def test_a_broken_row_is_rejected_with_its_line(tmp_path: Path, row: str, expected: str) -> None:
    path = write(tmp_path, "# comment", HEADER, "ok,psindiv,demo:,1,72", row)
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:4: "), problem
    assert expected in problem, problem


def test_a_duplicate_name_names_the_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "a,psindiv,demo:,1,72", "b,sos,demo:,1,72", "a,cpts,demo:,1,1")
    assert problems(path) == [f"{path}:4: name 'a' is already listed on line 2"]


def test_two_names_sharing_a_certificate_variable_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, "editeur-a,psindiv,demo:,1,72", "editeur_a,cpts,demo:,1,72")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:3: name 'editeur_a' and 'editeur-a' (line 2)")
    assert "GATEWAY_AGENDA_EDITEUR_A_CLIENT_CERT/_KEY" in problem
    assert variable_stem("editeur-a") == variable_stem("editeur_a") == "EDITEUR_A"


def test_every_problem_of_a_file_is_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER,
        "a,psindiv,demo:,0,0",  # line 2: two problems
        "b,psindiv,demo:,1",  # line 3: a field missing
        "c,sos,http://x.example,1,72",  # line 4
    )
    report = problems(path)
    # The field count is checked as the file is read, before the rows' values.
    assert sorted(line.split(": ", 1)[0] for line in report) == [
        f"{path}:2",
        f"{path}:2",
        f"{path}:3",
        f"{path}:4",
    ]
    assert any(line.startswith(f"{path}:3: expected 5 fields") for line in report)


def test_a_wrong_header_or_a_missing_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "name,kind,url,rate,window", "a,psindiv,demo:,1,72")
    assert problems(path) == [f"{path}:1: the header must be exactly {HEADER}"]
    (missing,) = problems(tmp_path / "absent.csv")
    assert "cannot read the file" in missing


def test_the_agenda_file_is_part_of_the_content_version(tmp_path: Path) -> None:
    directory = copy_mappings(tmp_path / "m")
    assert AGENDA_FILE in FILES
    before = content_version(directory)
    with (directory / AGENDA_FILE).open("a", encoding="utf-8") as handle:
        handle.write("editeur-a,psindiv,https://fhir.editeur-a.example,10,72\n")
    assert content_version(directory) != before
