"""``gateway sync locations`` from the command line (respx stubs, no network)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import respx

from gateway.cli import main
from gateway.directory.locations_file import LOCATIONS_FILE, MANIFEST_FILE, load_columns
from tests.annuaire_stub import ANNUAIRE_URL, GEOCODER_URL, AnnuaireStub, GeocoderStub


def _directory() -> AnnuaireStub:
    stub = AnnuaireStub()
    stub.practitioner("p1", "10000000001", "DUPONT", "Marie", "10", "SM54")
    stub.organization("o1", "Cabinet", "12", "R", "LA BOETIE", "75108", "75008")
    stub.role("r1", "p1", "o1")
    return stub


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ANNUAIRE_URL", ANNUAIRE_URL)
    monkeypatch.setenv("GATEWAY_ANNUAIRE_API_KEY", "k")
    monkeypatch.setenv("GATEWAY_GEOCODER_URL", GEOCODER_URL)
    monkeypatch.setenv("GATEWAY_ANNUAIRE_RETRIES", "0")


def test_it_needs_the_directory_s_url_and_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_ANNUAIRE_API_KEY", "")
    assert main(["sync", "locations", "--out", str(tmp_path)]) == 2
    assert "GATEWAY_ANNUAIRE_API_KEY" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.usefixtures("env")
def test_a_run_writes_the_index_and_says_what_it_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    stub = _directory()
    geocoder = GeocoderStub(
        {("12 Rue LA BOETIE", "75108"): (48.87, 2.31, 0.9, "housenumber", "75108")}
    )
    with respx.mock:
        respx.get(url__startswith=ANNUAIRE_URL).mock(side_effect=stub)
        respx.post(f"{GEOCODER_URL}/search/csv").mock(side_effect=geocoder)
        assert main(["sync", "locations", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "sync locations (full)" in out
    assert "1 of 1 new addresses geocoded" in out
    assert "1 locations of 1 practitioners" in out
    # the API key went out, the page size is the Annuaire's maximum
    first = stub.requests[0]
    assert first.headers["ESANTE-API-KEY"] == "k"
    assert first.url.params["_count"] == "200"
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["locations"] == 1
    columns, _ = load_columns(tmp_path / LOCATIONS_FILE)
    assert bytes(columns["precision"][0]) == b"housenumber"
    # no terminal: the progress is JSON log lines on stderr, the summary alone on stdout
    phases = [json.loads(line) for line in captured.err.splitlines() if '"sync phase"' in line]
    assert [p["phase"] for p in phases][:1] == ["roles"]
    assert "sync phase" not in out


@pytest.mark.usefixtures("env")
def test_a_failing_directory_exits_1_and_tells_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = _directory()
    stub.fail_pages = {1}
    with respx.mock:
        respx.get(url__startswith=ANNUAIRE_URL).mock(side_effect=stub)
        assert main(["sync", "locations", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "stopped: annuaire answered HTTP 503" in err
    assert "resume" in err
    assert not (tmp_path / LOCATIONS_FILE).exists()
