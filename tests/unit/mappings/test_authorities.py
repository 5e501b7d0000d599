"""``mappings/lrm_authorities.csv``: the shipped list and the loader's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mappings.authorities import load_authorities
from gateway.mappings.csvfile import MappingError
from gateway.settings import DEFAULT_MAPPINGS_DIR

HEADER = "code,label,departement,active,test\n"
KNOWN = frozenset({"75", "92", "2A"})


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "lrm_authorities.csv"
    path.write_text("# comment\n" + HEADER + body, encoding="utf-8")
    return path


def test_the_shipped_list_holds_the_public_test_authority_marked_as_test() -> None:
    authorities = load_authorities(DEFAULT_MAPPINGS_DIR / "lrm_authorities.csv")
    test = authorities.get("TEST-SAMU000")
    assert test is not None
    assert (test.active, test.test) == (True, True)
    assert all(a.test for a in authorities if a.code.startswith("TEST-"))


def test_rows_are_read_with_their_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "SAMU-2A,SAMU de Corse-du-Sud,2a,yes,no\nSAMU-92,SAMU 92,92,NO,no\n")
    authorities = load_authorities(path, KNOWN)
    corse, hauts_de_seine = authorities.get("SAMU-2A"), authorities.get("SAMU-92")
    assert corse is not None
    assert hauts_de_seine is not None
    assert (corse.departement, corse.active, corse.line) == ("2A", True, 3)
    assert (hauts_de_seine.active, hauts_de_seine.line) == (False, 4)
    assert len(authorities) == 2


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "SAMU 75,Bad code,75,yes,no\n"  # line 3: space in code
        "SAMU-99,Unknown dep,99,yes,no\n"  # line 4
        "SAMU-92,Flags,92,oui,maybe\n"  # line 5: two bad flags
        "SAMU-92,Again,92,yes,no\n"  # line 6: duplicate
        "SAMU-75,,75,yes,no\n"  # line 7: empty label
        "SAMU-1,too,few\n",  # line 8: wrong field count
    )
    with pytest.raises(MappingError) as caught:
        load_authorities(path, KNOWN)
    report = str(caught.value)
    for expected in (
        ":3: code 'SAMU 75'",
        ":4: departement '99' is not a known",
        ":5: active must be yes or no, found 'oui'",
        ":5: test must be yes or no, found 'maybe'",
        ":6: code 'SAMU-92' is already listed on line 5",
        ":7: label is empty",
        ":8: expected 5 fields",
    ):
        assert expected in report, report


def test_a_wrong_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lrm_authorities.csv"
    path.write_text("code,label,active\nX,Y,yes\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r":1: the header must be exactly code,label"):
        load_authorities(path)


def test_a_missing_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read"):
        load_authorities(tmp_path / "absent.csv")


def test_a_stray_quote_or_a_nul_byte_is_reported_on_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'SAMU-75,"Paris,75,yes,no\n'  # 3: unbalanced quote
        "SAMU-92,SAMU 92,92,yes,no\n"  # 4: fine, and not swallowed by line 3
        "SAMU-93,SAMU \x00 93,93,yes,no\n",  # 5: NUL
    )
    with pytest.raises(MappingError) as caught:
        load_authorities(path, KNOWN | {"93"})
    report = str(caught.value)
    assert ":3: this line cannot be read as CSV (unbalanced double quote)" in report
    assert ":5: this line cannot be read as CSV" in report
    assert ":4:" not in report
