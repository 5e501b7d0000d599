"""Specialty synonyms: validation against the terminology (unknown, deprecated codes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.mappings.codes import CodeChecker
from gateway.mappings.csvfile import MappingError
from gateway.mappings.specialties import load_synonyms
from gateway.settings import DEFAULT_MAPPINGS_DIR, DEMO_SNAPSHOT_DIR
from gateway.terminology.store import TerminologyStore

HEADER = "text,nos,code,note\n"
R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"


def checker(directory: Path) -> CodeChecker:
    store = TerminologyStore()
    store.load_directory(directory)
    return CodeChecker(store)


@pytest.fixture(scope="module")
def demo_codes() -> CodeChecker:
    return checker(DEMO_SNAPSHOT_DIR / "terminology")


@pytest.fixture
def complete_r38(tmp_path: Path) -> CodeChecker:
    """A complete TRE_R38 where SP01 is deprecated and replaced by SM03."""
    concept = [
        {"code": "SM03", "display": "Biologie médicale (SM)"},
        {"code": "SM04", "display": "Cardiologie et Maladies vasculaires (SM)"},
        {
            "code": "SP01",
            "display": "Radio-pharmacie (SP)",
            "property": [
                {"code": "status", "valueCode": "deprecated"},
                {"code": "replacedBy", "valueCode": "SM03"},
            ],
        },
        {
            "code": "SP02",
            "display": "Hygiène (SP)",
            "property": [{"code": "status", "valueCode": "deprecated"}],
        },
    ]
    body = {
        "resourceType": "CodeSystem",
        "url": R38,
        "version": "20260730120000",
        "status": "active",
        "content": "complete",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.250.1.213.2.28"}],
        "concept": concept,
    }
    (tmp_path / "cs").mkdir()
    (tmp_path / "cs" / "CodeSystem-TRE_R38.json").write_text(json.dumps(body), encoding="utf-8")
    return checker(tmp_path / "cs")


def write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "specialty_synonyms.csv"
    path.write_text("# comment\n" + HEADER + rows, encoding="utf-8")
    return path


def test_the_committed_synonyms_are_valid_for_the_demo_snapshot(demo_codes: CodeChecker) -> None:
    table = load_synonyms(DEFAULT_MAPPINGS_DIR / "specialty_synonyms.csv", demo_codes)
    assert len(table) >= 30
    found = table.get("  SAGE FEMME ")
    assert found is not None
    assert (found.nos, found.code) == ("TRE_G15", "50")
    assert table.warnings == ()


def test_the_committed_synonyms_hold_for_the_real_nos(nos_dir: Path) -> None:
    table = load_synonyms(DEFAULT_MAPPINGS_DIR / "specialty_synonyms.csv", checker(nos_dir))
    assert len(table) >= 30


def test_a_deprecated_code_is_an_error_naming_its_replacement(
    tmp_path: Path, complete_r38: CodeChecker
) -> None:
    path = write(tmp_path, "radiopharmacien,TRE_R38,SP01,\nhygiéniste,TRE_R38,SP02,\n")
    with pytest.raises(MappingError) as caught:
        load_synonyms(path, complete_r38)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith(
        ":3: code 'SP01' (Radio-pharmacie (SP)) of TRE_R38 is deprecated; "
        "use SM03 (Biologie médicale (SM)) instead"
    )
    assert lines[1].endswith(
        ":4: code 'SP02' (Hygiène (SP)) of TRE_R38 is deprecated; "
        "the NOS gives no replacement: choose another code"
    )


def test_the_demo_snapshots_deprecated_code_is_caught(
    tmp_path: Path, demo_codes: CodeChecker
) -> None:
    with pytest.raises(MappingError, match=r":3: code 'SP01' .* is deprecated"):
        load_synonyms(write(tmp_path, "radiopharmacie,TRE_R38,SP01,\n"), demo_codes)


def test_unknown_codes_duplicates_and_conflicts(tmp_path: Path, complete_r38: CodeChecker) -> None:
    path = write(
        tmp_path,
        "cardiologue,TRE_R38,SM04,\n"  # 3
        "Cardiologue,TRE_R38,SM04,\n"  # 4: duplicate once normalised
        "CARDIOLOGUE!,TRE_R38,SM03,\n"  # 5: conflicting
        "urgentiste,TRE_R38,SM99,\n"  # 6: unknown in a complete code system
        "kiné,TRE_X,70,\n"  # 7: unknown NOS
        ",TRE_R38,SM04,\n",  # 8: empty text
    )
    with pytest.raises(MappingError) as caught:
        load_synonyms(path, complete_r38)
    report = str(caught.value)
    assert ":4: 'Cardiologue' is the same text as 'cardiologue' on line 3 (a duplicate)" in report
    assert (
        ":5: 'CARDIOLOGUE!' is the same text as 'cardiologue' on line 3, which says "
        "TRE_R38 SM04" in report
    )
    assert ":6: code 'SM99' does not exist in TRE_R38" in report
    assert ":7: nos 'TRE_X' must be TRE_R38 or TRE_G15" in report
    assert ":8: text is empty" in report


def test_codes_a_partial_snapshot_cannot_check_are_warnings(
    tmp_path: Path, demo_codes: CodeChecker
) -> None:
    table = load_synonyms(write(tmp_path, "urgentiste,TRE_R38,SM99,\n"), demo_codes)
    assert len(table) == 1
    assert "not checked" in table.warnings[0]
    assert ":3:" in table.warnings[0]
