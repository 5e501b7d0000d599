"""``availability/subscriptions.csv``: the operators' list of whose slots are read from where."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.availability.component import subscriptions_stamp
from gateway.availability.subscriptions import (
    SUBSCRIPTIONS_FILE,
    Subscription,
    format_subscriptions,
    load_subscriptions,
)

SOURCES = frozenset({"demo", "editeur-a"})
MINIMAL = "idnps,source,participant"
FULL = "idnps,source,participant,mode,cpts_finess,cpts_site_insee,beyond_slots"
IDNPS = "810003461033"
OTHER = "810100000004"
TOKEN = f"urn:oid:1.2.250.1.71.4.2.1|{IDNPS}"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / SUBSCRIPTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_missing_file_is_no_subscription_and_no_problem(tmp_path: Path) -> None:
    found = load_subscriptions(tmp_path / SUBSCRIPTIONS_FILE, SOURCES)
    assert (found.items, found.problems, found.version) == ({}, [], "")


def test_a_three_column_file_loads_with_defaults_and_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# operators' file",
        MINIMAL,
        f"{IDNPS},demo,true",
        "",
        "10100000004,editeur-a,NO",  # an RPPS: read as its IDNPS
    )
    found = load_subscriptions(path, SOURCES)
    assert found.problems == []
    assert found.items == {
        IDNPS: Subscription(IDNPS, "demo", True, "individual", None, None, False, 3),
        OTHER: Subscription(OTHER, "editeur-a", False, line=5),
    }
    assert found.version == hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert [s.idnps for s in found.by_source("demo")] == [IDNPS]
    assert found.by_source("absent") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("FALSE", False), ("no", False), ("0", False)],
)
def test_participant_accepts_true_false_yes_no_and_1_0(
    tmp_path: Path, value: str, expected: bool
) -> None:
    found = load_subscriptions(write(tmp_path, MINIMAL, f"{TOKEN},demo,{value}"), SOURCES)
    assert found.items[IDNPS].participant is expected


def test_every_optional_column_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        FULL,
        f"{IDNPS},demo,yes,CPTS,2a0000123,2a004,true",
        f"{OTHER},editeur-a,true,,,,",
    )
    found = load_subscriptions(path, SOURCES)
    assert found.problems == []
    assert found.items[IDNPS] == Subscription(
        IDNPS, "demo", True, "cpts", "2A0000123", "2A004", True, 2
    )
    assert found.items[OTHER] == Subscription(OTHER, "editeur-a", True, line=3)


def test_the_optional_columns_may_come_in_any_subset_and_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "idnps,source,participant,beyond_slots,cpts_finess,mode",
        f"{IDNPS},demo,true,yes,929999901,cpts",
    )
    found = load_subscriptions(path, SOURCES)
    assert found.problems == []
    item = found.items[IDNPS]
    assert (item.mode, item.cpts_finess, item.cpts_site_insee, item.beyond_slots) == (
        "cpts",
        "929999901",
        None,  # a CPTS subscription need not name a site
        True,
    )


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("8100034610,demo,true,,,,", "idnps '8100034610': Expected an IDNPS ('8' + 11 digits)"),
        (",demo,true,,,,", "idnps '': Expected an IDNPS"),
        (
            "urn:oid:1.2.250.1.71.4.2.1|910003461033,demo,true,,,,",
            "An IDNPS is '8' followed by the 11-digit RPPS",
        ),
        ("x|810003461033,demo,true,,,,", "idnps 'x|810003461033': 'x' is not the IDNPS system"),
        (
            "810003461033,other,true,,,,",
            "source 'other' is not in mappings/agenda_sources.csv (known: demo, editeur-a)",
        ),
        ("810003461033,,true,,,,", "source '' is not in"),
        ("810003461033,demo,,,,,", "participant is '', not true or false (or yes/no, 1/0)"),
        ("810003461033,demo,oui,,,,", "participant is 'oui', not true or false"),
        ("810003461033,demo,true,,,,maybe", "beyond_slots is 'maybe', not true or false"),
        ("810003461033,demo,true,group,,,", "mode is 'group', not individual or cpts"),
        ("810003461033,demo,true,cpts,,,", "mode is cpts but cpts_finess is empty"),
        ("810003461033,demo,true,cpts,92999990,,", "cpts_finess is '92999990', not a 9-char"),
        ("810003461033,demo,true,cpts,2C0000123,,", "cpts_finess is '2C0000123'"),
        ("810003461033,demo,true,cpts,929999901,9203,", "cpts_site_insee is '9203', not an INSEE"),
        ("810003461033,demo,true,,929999901,,", "cpts_finess and cpts_site_insee are only for"),
        ("810003461033,demo,true,individual,,92036,", "are only for mode cpts"),
        ("810003461033,demo,true,,,", "expected 7 fields"),
        ('810003461033,demo,"true,,,,', "this line cannot be read as CSV"),
    ],
)
def test_a_bad_line_is_reported_with_its_line_and_the_others_are_kept(
    tmp_path: Path, row: str, expected: str
) -> None:
    path = write(
        tmp_path, "# comment", FULL, f"{OTHER},demo,true,,,,", row, "10200000002,demo,0,,,,"
    )
    found = load_subscriptions(path, SOURCES)
    (problem,) = found.problems
    assert problem.startswith(f"{path}:4: "), problem
    assert expected in problem, problem
    assert sorted(found.items) == [OTHER, "810200000002"]


def test_a_line_with_several_problems_reports_each(tmp_path: Path) -> None:
    path = write(tmp_path, FULL, f"{IDNPS},nowhere,perhaps,cpts,,,")
    found = load_subscriptions(path, SOURCES)
    assert [p.split(": ", 1)[1].split(" ", 2)[:2] for p in found.problems] == [
        ["source", "'nowhere'"],
        ["participant", "is"],
        ["mode", "is"],
    ]
    assert all(p.startswith(f"{path}:2: ") for p in found.problems)
    assert found.items == {}


def test_an_unknown_source_when_none_is_configured_says_so(tmp_path: Path) -> None:
    found = load_subscriptions(write(tmp_path, MINIMAL, f"{IDNPS},demo,true"), frozenset())
    assert found.problems == [
        f"{tmp_path / SUBSCRIPTIONS_FILE}:2: source 'demo' is not in "
        "mappings/agenda_sources.csv (known: none is configured)"
    ]


def test_a_duplicate_idnps_is_a_problem_on_the_later_line_and_the_first_is_kept(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        MINIMAL,
        f"{IDNPS},demo,true",
        f"{OTHER},demo,true",
        "10003461033,editeur-a,false",  # the same practitioner, as an RPPS
        f"{TOKEN},demo,false",  # and as a token
    )
    found = load_subscriptions(path, SOURCES)
    assert found.problems == [
        f"{path}:4: idnps {IDNPS} is already subscribed on line 2",
        f"{path}:5: idnps {IDNPS} is already subscribed on line 2",
    ]
    assert found.items[IDNPS].source == "demo"
    assert found.items[IDNPS].line == 2


def test_the_first_line_owns_its_idnps_even_when_it_is_wrong(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL, f"{IDNPS},nowhere,true", f"{IDNPS},demo,true")
    found = load_subscriptions(path, SOURCES)
    assert [p.split(": ", 1)[0] for p in found.problems] == [f"{path}:2", f"{path}:3"]
    assert "already subscribed on line 2" in found.problems[1]
    assert found.items == {}


@pytest.mark.parametrize(
    "header",
    [
        "idnps,source",
        "source,idnps,participant",
        "idnps,source,participant,colour",
        "idnps,source,participant,mode,mode",
        "idnps;source;participant",
    ],
)
def test_a_wrong_header_is_one_problem_and_nothing_is_read(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, "# comment", header, f"{IDNPS},demo,true")
    found = load_subscriptions(path, SOURCES)
    assert found.problems == [
        f"{path}:2: the header must be idnps,source,participant, then any of "
        "mode,cpts_finess,cpts_site_insee,beyond_slots (each once, separated by commas)"
    ]
    assert found.items == {}
    assert found.version  # the file exists: its version names what was refused


def test_a_file_without_a_header_or_not_in_utf8_is_one_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "# only a comment")
    found = load_subscriptions(path, SOURCES)
    assert found.problems == [f"{path}: no header line; the first line must be {MINIMAL}"]
    path.write_bytes(f"{MINIMAL}\n{IDNPS},démo,true\n".encode("latin-1"))
    (problem,) = load_subscriptions(path, SOURCES).problems
    assert problem.startswith(f"{path}: cannot read the file (")
    assert problem.endswith("save it as UTF-8")


def test_a_written_file_reads_back_the_same(tmp_path: Path) -> None:
    items = [
        Subscription(IDNPS, "demo", True, "cpts", "929999901", "92036", True, 0),
        Subscription(OTHER, "editeur-a", False),
    ]
    text = format_subscriptions(items, ["generated for a test"])
    assert text.splitlines()[:2] == ["# generated for a test", FULL]
    path = tmp_path / "subscriptions.csv"
    path.write_text(text, encoding="utf-8")
    found = load_subscriptions(path, SOURCES)
    assert found.problems == []
    assert list(found.items.values()) == [
        Subscription(IDNPS, "demo", True, "cpts", "929999901", "92036", True, 3),
        Subscription(OTHER, "editeur-a", False, line=4),
    ]


def test_the_watcher_stamp_changes_with_the_file_or_the_sources(tmp_path: Path) -> None:
    """An unchanged file with the same sources is not parsed again (component watcher)."""
    path = tmp_path / "subscriptions.csv"
    assert subscriptions_stamp(path, ["a"]) is None
    path.write_text("idnps,source,participant\n", encoding="utf-8")
    first = subscriptions_stamp(path, ["a"])
    assert first is not None
    assert subscriptions_stamp(path, ["a"]) == first
    assert subscriptions_stamp(path, ["a", "b"]) != first
    replacement = tmp_path / "new.csv"
    replacement.write_text("idnps,source,participant\n", encoding="utf-8")
    replacement.replace(path)  # same size, new inode: an atomic rewrite
    assert subscriptions_stamp(path, ["a"]) != first
