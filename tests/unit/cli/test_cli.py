from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx

from gateway.availability.subscriptions import SUBSCRIPTIONS_FILE, load_subscriptions
from gateway.cli import build_parser, main
from gateway.cli.sync import target
from gateway.directory.index import DirectoryIndex
from gateway.mappings.nos import load_nos
from gateway.settings import DEFAULT_MAPPINGS_DIR, DEMO_SNAPSHOT_DIR, Settings
from tests.conftest import FHIR_HEADERS, SMT_URL, searchset
from tests.samples import JDV_J239, TRE_R38, codesystem, smt_tre_r38, valueset


def test_serve_accepts_host_port_and_workers() -> None:
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 9000)


def test_sync_terminology_refuses_offline_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", "")
    assert main(["sync", "terminology"]) == 2
    assert "offline" in capsys.readouterr().err


def test_configuration_errors_exit_2_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "nope")
    assert main(["openapi"]) == 2
    assert "GATEWAY_PORT" in capsys.readouterr().err


def test_openapi_command_writes_the_document_without_the_open_service_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", "")
    monkeypatch.delenv("GATEWAY_API_KEYS_FILE", raising=False)
    out = tmp_path / "openapi.json"
    assert main(["openapi", "--out", str(out)]) == 0
    assert "/v1/terminology/resolve" in json.loads(out.read_text())["paths"]
    # It serves nothing: no "NO API KEYS" warning (that is said when a service starts).
    assert "NO API KEYS" not in log_output.getvalue()


def _only_tre_r38_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An SMT configured, a nos.csv of one row (TRE_R38), a snapshot in ``tmp_path``."""
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "nos.csv").write_text(
        f"name,kind,canonical,why\nTRE_R38,CodeSystem,{TRE_R38},specialties\n", encoding="utf-8"
    )
    monkeypatch.setenv("GATEWAY_SMT_URL", SMT_URL)
    monkeypatch.setenv("GATEWAY_MAPPINGS_DIR", str(mappings))
    monkeypatch.setenv("GATEWAY_SNAPSHOT_DIR", str(tmp_path / "snapshot"))


@respx.mock
def test_sync_terminology_writes_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _only_tre_r38_listed(tmp_path, monkeypatch)
    respx.get(f"{SMT_URL}/CodeSystem").mock(
        return_value=httpx.Response(200, json=searchset(smt_tre_r38()), headers=FHIR_HEADERS)
    )
    assert main(["sync", "terminology"]) == 0
    written = tmp_path / "snapshot" / "terminology" / "CodeSystem-TRE_R38.json"
    assert json.loads(written.read_text())["version"] == "20260730120000"
    assert "ok      TRE_R38 20260730120000" in capsys.readouterr().out


def _smt_publishing(*resources: dict[str, object]) -> Callable[[httpx.Request], httpx.Response]:
    """An SMT that lists ``resources`` (summaries) and reads each by ``url``."""

    def answer(request: httpx.Request) -> httpx.Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        mine = [r for r in resources if r["resourceType"] == kind]
        if "_elements" in request.url.params:
            listed = [{"resourceType": kind, "url": r["url"]} for r in mine]
            listed.append({"resourceType": kind, "url": "http://loinc.org"})  # not a NOS
            return httpx.Response(200, json=searchset(*listed), headers=FHIR_HEADERS)
        found = [r for r in mine if r["url"] == request.url.params.get("url")]
        return httpx.Response(200, json=searchset(*found), headers=FHIR_HEADERS)

    return answer


@respx.mock
def test_sync_terminology_all_mirrors_every_nos_the_smt_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _only_tre_r38_listed(tmp_path, monkeypatch)
    r66 = codesystem(
        "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/"
        "TRE-R66-CategorieEtablissement",
        [{"code": "604", "display": "CPTS"}],
    )
    j239 = valueset(JDV_J239, {"include": [{"system": TRE_R38, "concept": [{"code": "SM54"}]}]})
    smt = respx.get(url__startswith=SMT_URL).mock(
        side_effect=_smt_publishing(smt_tre_r38(), r66, j239)
    )
    assert main(["sync", "terminology", "--all"]) == 0
    written = sorted(p.name for p in (tmp_path / "snapshot" / "terminology").iterdir())
    assert written == [
        "CodeSystem-TRE_R38.json",
        "CodeSystem-TRE_R66.json",
        "ValueSet-JDV_J239.json",
    ]
    assert "3 NOS published (1 in nos.csv)" in capsys.readouterr().out
    # TRE_R38 is read once although nos.csv and the SMT's list both name it
    reads = [c.request.url.params.get("url") for c in smt.calls]
    assert reads.count(TRE_R38) == 1


@respx.mock
def test_sync_terminology_exits_1_when_a_nos_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", SMT_URL)
    monkeypatch.setenv("GATEWAY_SMT_RETRIES", "0")
    monkeypatch.setenv("GATEWAY_SNAPSHOT_DIR", str(tmp_path))
    respx.get(url__startswith=SMT_URL).mock(return_value=httpx.Response(503))
    assert main(["sync", "terminology"]) == 1
    assert "FAILED  TRE_R38" in capsys.readouterr().err


def test_sync_directory_needs_a_source(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GATEWAY_ROR_CLIENT_ID", raising=False)
    assert main(["sync", "directory"]) == 2
    assert "nothing to sync" in capsys.readouterr().err


@respx.mock
def test_sync_directory_writes_a_practitioner_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GATEWAY_ROR_CLIENT_ID", raising=False)
    monkeypatch.setenv("GATEWAY_ANNUAIRE_URL", "https://annuaire.test/fhir/v2")
    monkeypatch.setenv("GATEWAY_ANNUAIRE_API_KEY", "k")
    demo = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-practitioners.json"
    route = respx.get("https://annuaire.test/fhir/v2/Practitioner").mock(
        return_value=httpx.Response(200, content=demo.read_bytes(), headers=FHIR_HEADERS)
    )
    code = main(["sync", "directory", "--out", str(tmp_path), "--practitioner", "819990000002"])
    assert code == 0, capsys.readouterr().err
    assert route.calls.last.request.headers["ESANTE-API-KEY"] == "k"
    index = DirectoryIndex.load(tmp_path)
    assert "19990000002" in index.practitioners
    assert main(["sync", "directory", "--practitioner", "nope"]) == 2


@respx.mock
def test_sync_directory_removes_pages_of_an_earlier_longer_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_ROR_CLIENT_ID", raising=False)
    monkeypatch.setenv("GATEWAY_ANNUAIRE_URL", "https://annuaire.test/fhir/v2")
    monkeypatch.setenv("GATEWAY_ANNUAIRE_API_KEY", "k")
    stale = tmp_path / "annuaire-practitioner-19990000002-2.json"
    stale.write_text('{"resourceType": "Bundle", "entry": []}')
    demo = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-practitioners.json"
    respx.get("https://annuaire.test/fhir/v2/Practitioner").mock(
        return_value=httpx.Response(200, content=demo.read_bytes(), headers=FHIR_HEADERS)
    )
    assert (
        main(["sync", "directory", "--out", str(tmp_path), "--practitioner", "819990000002"]) == 0
    )
    assert not stale.exists()
    assert (tmp_path / "annuaire-practitioner-19990000002-1.json").exists()


def test_serve_refuses_to_start_on_invalid_mappings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = Path(__file__).resolve().parents[3] / "mappings"
    for path in source.glob("*.csv"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    with (tmp_path / "lrm_authorities.csv").open("a", encoding="utf-8") as handle:
        handle.write("SAMU-X,Test,99,yes,no\n")
    monkeypatch.setenv("GATEWAY_MAPPINGS_DIR", str(tmp_path))
    assert main(["serve"]) == 2  # before granian starts: nothing to stop
    err = capsys.readouterr().err
    assert "lrm_authorities.csv:" in err
    assert "departement '99' is not a known" in err


def test_demo_generate_writes_a_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "snap"
    args = ["demo", "generate", "--practitioners", "50", "--seed", "3", "--out", str(out)]
    assert main([*args, "--now", "2026-11-26T08:00:00+01:00"]) == 0
    printed = capsys.readouterr().out
    assert "of 50 practitioners" in printed
    assert (out / "directory" / "practice-locations.npz").stat().st_size > 0
    subscriptions = load_subscriptions(
        out / SUBSCRIPTIONS_FILE, {"demo", "demo-sos"}, sos={"demo-sos"}
    )
    assert subscriptions.problems == []
    assert len(subscriptions.associations) == 2
    assert f"{len(subscriptions.items)} of them subscribed to the demo agenda" in printed
    assert (out / "terminology").is_dir()
    assert main([*args, "--now", "yesterday"]) == 2
    assert main(["demo", "generate", "--practitioners", "0", "--out", str(out)]) == 2


def test_serve_stops_on_a_snapshot_directory_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_SNAPSHOT_DIR", str(tmp_path / "missing"))
    assert main(["serve", "--port", "1"]) == 2
    assert "GATEWAY_SNAPSHOT_DIR" in capsys.readouterr().err


def test_sync_refuses_to_write_into_the_bundled_demo_unless_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", SMT_URL)
    monkeypatch.delenv("GATEWAY_SNAPSHOT_DIR", raising=False)
    before = {p: p.stat().st_mtime_ns for p in DEMO_SNAPSHOT_DIR.rglob("*") if p.is_file()}
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__startswith=SMT_URL).mock(return_value=httpx.Response(503))
        assert main(["sync", "terminology"]) == 2
        assert main(["sync", "directory", "--practitioner", "819990000002"]) == 2
    err = capsys.readouterr().err
    assert "bundled demo snapshot" in err
    assert "--update-demo" in err
    assert route.call_count == 0
    after = {p: p.stat().st_mtime_ns for p in DEMO_SNAPSHOT_DIR.rglob("*") if p.is_file()}
    assert after == before


def test_update_demo_is_the_explicit_way_into_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_SNAPSHOT_DIR", raising=False)
    args = build_parser().parse_args(["sync", "terminology", "--update-demo"])
    assert target(args, Settings.from_env(), "terminology") == (DEMO_SNAPSHOT_DIR / "terminology")


@respx.mock
def test_an_unreachable_upstream_gives_a_line_per_item_and_a_summary_naming_its_host(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("GATEWAY_SMT_URL", SMT_URL)
    monkeypatch.delenv("GATEWAY_MAPPINGS_DIR", raising=False)
    names = [entry.name for entry in load_nos(DEFAULT_MAPPINGS_DIR / "nos.csv")]
    respx.get(url__startswith=SMT_URL).mock(side_effect=httpx.ConnectError("no such host"))
    assert main(["sync", "terminology", "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    failed = [line for line in err.splitlines() if line.startswith("FAILED  ")]
    assert [line.split()[1].rstrip(":") for line in failed] == names
    assert f"sync terminology: 0 written, {len(names)} failed" in err
    assert f"upstream smt at {httpx.URL(SMT_URL).host}" in err
    assert "callable=" not in out + err + log_output.getvalue()
    assert "retry" not in log_output.getvalue()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
