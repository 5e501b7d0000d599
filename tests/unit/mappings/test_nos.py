"""``mappings/nos.csv``: the NOS the gateway mirrors, validated line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mappings.nos import MappingError, load_nos
from gateway.settings import DEFAULT_MAPPINGS_DIR


def test_committed_mappings_list_the_required_nos() -> None:
    names = {row.name for row in load_nos(DEFAULT_MAPPINGS_DIR / "nos.csv")}
    assert {
        "TRE_R38",
        "TRE_G15",
        "TRE_R314",
        "JDV_J165",
        "JDV_J210",
        "JDV_J229",
        "JDV_J239",
    } <= names


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,kind,canonical,why\nTRE_R38,Thing,https://x/TRE-R38,y\n", ":2: kind 'Thing'"),
        (
            "# c\nname,kind,canonical,why\nTRE_R38,CodeSystem,https://mos.esante.gouv.fr/NOS/TRE_R38-X/FHIR/TRE-R38-X,y\n"
            "TRE_R38,CodeSystem,https://mos.esante.gouv.fr/NOS/TRE_R38-X/FHIR/TRE-R38-X,y\n",
            ":4: 'TRE_R38' already listed on line 3",
        ),
        ("name,kind\n", ":1: the header must be"),
        (
            "name,kind,canonical,why\nTRE_R38,CodeSystem,https://mos.esante.gouv.fr/NOS/TRE_G15-X/FHIR/TRE-G15-X,y\n",
            "does not match",
        ),
    ],
)
def test_nos_mapping_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "nos.csv"
    path.write_text(content)
    with pytest.raises(MappingError) as caught:
        load_nos(path)
    assert message in str(caught.value)
