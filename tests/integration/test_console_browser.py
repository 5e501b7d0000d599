"""The console (/console/) end to end: a real ``gateway serve`` (offline, demo snapshot),
headless Debian chromium driven by Playwright. Each test writes its screenshots at 1280
and 390 px under ``test-artifacts/console/`` (not committed).

Skipped with a reason when chromium cannot be had (``.ci/run`` installs it).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from gateway.auth.keys import Role, new_key
from tests.browser import Tab, chromium
from tests.conftest import copy_mappings
from tests.processes import start_gateway

pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

IDNPS = "819990000028"  # Dr Paul DEMO-DURAND, a hand-written demo practitioner
TOKEN = f"urn:oid:1.2.250.1.71.4.2.1|{IDNPS}"
OFFLINE = {
    "GATEWAY_SMT_URL": "",
    "GATEWAY_ANNUAIRE_URL": "",
    "GATEWAY_ROR_URL": "",
    "GATEWAY_GEOCODER_URL": "",
    "GATEWAY_REDIS_URL": "",
    "GATEWAY_ACCESS_LOG": "false",
    "GATEWAY_CONSOLE_TILES_URL": "",
}


def serve(env: dict[str, str]) -> Iterator[str]:
    process, base = start_gateway({**OFFLINE, **env})
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def open_gateway(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """No keys file: the console needs no key."""
    mappings = copy_mappings(tmp_path_factory.mktemp("open") / "mappings")
    yield from serve({"GATEWAY_API_KEYS_FILE": "", "GATEWAY_MAPPINGS_DIR": str(mappings)})


@pytest.fixture(scope="module")
def steward_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_mappings(tmp_path_factory.mktemp("steward") / "mappings")


@pytest.fixture(scope="module")
def keyed_gateway(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, steward_dir: Path
) -> Iterator[tuple[str, dict[Role, str]]]:
    keys: dict[Role, str] = {}
    lines = []
    for role in Role:
        key, line = new_key(role, f"{role.value}-console")
        keys[role] = key
        lines.append(line)
    keys_file = tmp_path_factory.mktemp("keys") / "api-keys"
    keys_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"GATEWAY_API_KEYS_FILE": str(keys_file), "GATEWAY_MAPPINGS_DIR": str(steward_dir)}
    for base in serve(env):
        yield base, keys


@pytest.fixture
def tab(browser: Any, open_gateway: str) -> Iterator[Tab]:
    opened = Tab.open(browser, open_gateway)
    yield opened
    opened.close()


def links_path(**params: str) -> str:
    return "/console/links?" + urlencode(params)


def diagnostic(page: Any, parameter: str) -> list[tuple[str, str]]:
    """(status, message) of every diagnostic row of ``parameter``."""
    rows = page.locator(f"#diagnostics-table tr[data-parameter='{parameter}']")
    return [
        (rows.nth(i).get_attribute("data-status"), rows.nth(i).locator("td").nth(2).inner_text())
        for i in range(rows.count())
    ]


def script_errors(tab: Tab) -> list[str]:
    """What the page logged, but chromium's line for each 4xx the page meant to show."""
    refused = "Failed to load resource: the server responded with a status of 4"
    return [e for e in tab.errors if not e.startswith(refused)]


def assert_no_errors(tab: Tab) -> None:
    assert tab.errors == [], tab.errors
    foreign = [u for u in tab.requests if not u.startswith((tab.base, "data:"))]
    assert foreign == [], f"the page fetched from elsewhere: {foreign}"


def wait_for_map(page: Any) -> None:
    page.wait_for_selector("#map[data-ready='true']", timeout=20_000)


# -- /console/links ----------------------------------------------------------------------


def test_a_valid_launch_shows_diagnostics_canonical_url_preview_and_map(tab: Tab) -> None:
    page = tab.go(
        links_path(
            origin="TEST-SAMU000", practitioner=TOKEN, specialty="cardiologue", inseecode="75117"
        )
    )
    assert page.locator("#link-validity").get_attribute("data-valid") == "true"
    assert [s for s, _ in diagnostic(page, "practitioner")] == ["ok"]
    assert "DEMO-DURAND" in diagnostic(page, "practitioner")[0][1]
    assert diagnostic(page, "specialty")[0][0] == "ok"
    canonical = page.locator("#canonical-url").input_value()
    assert canonical.startswith("https://sas.sante.fr/sas/recherche?origin=TEST-SAMU000&")
    assert parse_qs(urlsplit(canonical).query)["practitioner"] == [TOKEN]
    page.click("#copy-url")
    page.wait_for_selector("#copy-status:text('URL copiée.')")
    assert page.evaluate("navigator.clipboard.readText()") == canonical
    # The preview: what the regulator gets.
    page.wait_for_selector("#result-list")
    assert page.locator("#doctor-status .badge").get_attribute("data-status") == "found"
    assert "Cardiologie" in page.locator("#resolve-summary").inner_text()
    first = page.locator("#result-list .result-card").first
    assert first.get_attribute("data-preferred") == "true"
    assert "DEMO-DURAND" in first.inner_text()
    assert "agenda" in page.locator("#result-list").inner_text()  # availability shown
    wait_for_map(page)
    tab.snap("links-valid")
    assert_no_errors(tab)


def test_the_map_shows_the_circle_the_numbered_points_and_the_cpts_zone(tab: Tab) -> None:
    # Gennevilliers: the demo CPTS "Boucle Nord 92" covers it (and Asnières).
    page = tab.go(
        links_path(origin="TEST-SAMU000", practitioner=TOKEN, specialty="ORL", inseecode="92036")
    )
    wait_for_map(page)
    circle = page.locator("#map path.search-circle")
    assert circle.count() == 1
    assert len(circle.get_attribute("d") or "") > 20
    cards = page.locator("#result-list .result-card")
    placed = int(page.locator("#map").get_attribute("data-points") or "0")
    pins = page.locator("#map .rank-pin")
    assert pins.count() == placed >= 1
    numbers = sorted(int(pins.nth(i).inner_text()) for i in range(pins.count()))
    assert set(numbers) <= set(range(1, cards.count() + 1))
    doctor = page.locator("#map .rank-pin.mt")
    assert doctor.count() == 1
    assert doctor.inner_text() == "1"
    assert page.locator("#map").get_attribute("data-zone-communes") == "2"
    assert page.locator("#map path.cpts-zone").count() == 2
    # Outlines of départements and communes are drawn from the bundled files, no tiles.
    assert page.locator("#map .leaflet-tile").count() == 0
    assert any("/console/static/geo/departements.json" in u for u in tab.requests)
    assert any("/console/static/geo/communes-92.json" in u for u in tab.requests)
    tab.snap("links-map-cpts")
    assert_no_errors(tab)


def test_an_unknown_origin_refuses_the_flow(tab: Tab) -> None:
    page = tab.go(links_path(origin="SAMU-INCONNU", practitioner=TOKEN, inseecode="75117"))
    assert page.locator("#link-validity").get_attribute("data-valid") == "false"
    [(status, message)] = diagnostic(page, "origin")
    assert status == "error"
    assert "refused" in message
    page.wait_for_selector("#origin-refused")
    assert "Flux refusé" in page.locator("#origin-refused").inner_text()
    assert page.locator("#result-list").count() == 0
    tab.snap("links-unknown-origin")
    assert_no_errors(tab)


def test_a_malformed_practitioner_token_is_sas_pf_001(tab: Tab) -> None:
    page = tab.go(
        links_path(
            origin="TEST-SAMU000",
            practitioner="urn:oid:1.2.250.1.71.4.2.1|81234",
            inseecode="75117",
        )
    )
    statuses = diagnostic(page, "practitioner")
    assert "error" in [s for s, _ in statuses], statuses
    page.wait_for_selector("#doctor-status .badge")
    badge = page.locator("#doctor-status .badge")
    assert badge.get_attribute("data-status") == "sas_pf_001"
    assert "non identifié" in badge.inner_text()
    assert "sas_pf_001" in page.locator("#resolve-errors").inner_text()
    page.wait_for_selector("#result-list")
    first = page.locator("#result-list .result-card").first
    assert first.get_attribute("data-preferred") == "false"  # no médecin traitant card
    tab.snap("links-sas-pf-001")
    assert_no_errors(tab)


def test_a_pasted_launch_url_with_a_misspelt_parameter(tab: Tab) -> None:
    page = tab.go("/console/links")
    launch = "https://sas.sante.fr/sas/recherche?" + urlencode(
        {"origin": "TEST-SAMU000", "practitioner": IDNPS, "speciality": "ORL", "inseecode": "92036"}
    )
    page.fill("#launch-url", launch)  # no click: pasting is enough
    page.wait_for_selector("#diagnostics-table tr[data-parameter='speciality']")
    [(status, message)] = diagnostic(page, "speciality")
    assert status == "error"
    assert "specialty" in message  # "did you mean"
    assert page.locator("#p-origin").input_value() == "TEST-SAMU000"
    assert page.locator("#p-extra").input_value() == "speciality=ORL"
    assert next(s for s, _ in diagnostic(page, "practitioner")) == "normalised"
    # The page's own address now holds the launch: shareable, and reopened as it is.
    assert parse_qs(urlsplit(page.url).query)["speciality"] == ["ORL"]
    page.reload()
    page.wait_for_selector("#diagnostics-table tr[data-parameter='speciality']")
    tab.snap("links-misspelt-parameter")
    assert_no_errors(tab)


def test_an_unknown_status_from_the_api_is_shown_as_it_comes(tab: Tab) -> None:
    page = tab.go("/console/links")
    page.route(
        "**/v1/contextual-search/links",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body='{"url": "https://sas.sante.fr/sas/recherche?origin=X", "valid": false,'
            '"parameters": {"origin": "X"}, "diagnostics": [{"parameter": "streetname",'
            '"status": "missing_address", "message": "une adresse est requise"}]}',
        ),
    )
    page.fill("#p-origin", "X")
    page.click("button[type=submit]:text('Vérifier le lien')")
    page.wait_for_selector("#diagnostics-table tr[data-status='missing_address']")
    row = page.locator("#diagnostics-table tr[data-parameter='streetname']")
    assert "missing_address" in row.inner_text()
    assert "une adresse est requise" in row.inner_text()


# -- /console/terminology ----------------------------------------------------------------


def test_terminology_search_is_accent_insensitive_and_opens_a_code(tab: Tab) -> None:
    page = tab.go("/console/terminology")
    page.fill("#q", "GYNECOLOGIE obstetrique")
    page.wait_for_selector("#match-table tr[data-code='SM20']")
    assert "Gynécologie-obstétrique" in page.locator("#match-table").inner_text()
    page.locator("#match-table tr[data-code='SM20'] button.open-code").click()
    page.wait_for_selector("#code-details")
    details = page.locator("#code-details").inner_text()
    assert "active" in details
    assert "urn:oid:1.2.250.1.213.2.28" in details
    assert "TRE_R38" in details
    assert "0.0.0-demo" in details  # the version
    assert "JDV_J239" in page.locator("#valuesets").inner_text()
    query = parse_qs(urlsplit(page.url).query)
    assert query["code"][0].endswith("|SM20")
    tab.snap("terminology")
    assert_no_errors(tab)


# -- /console/mappings, API keys ---------------------------------------------------------


def test_without_a_keys_file_the_console_needs_no_key(tab: Tab) -> None:
    page = tab.go("/console/mappings")
    assert "aucune clé n'est nécessaire" in page.locator("#key-status").inner_text()
    page.wait_for_selector("#tables")
    assert page.locator("#disk-state").get_attribute("data-valid") == "true"
    assert_no_errors(tab)


def test_a_wrong_key_shows_401_and_a_key_of_another_role_403(
    browser: Any, keyed_gateway: tuple[str, dict[Role, str]]
) -> None:
    base, keys = keyed_gateway
    tab = Tab.open(browser, base)
    try:
        page = tab.go("/console/mappings")
        assert "exige une clé" in page.locator("#key-status").inner_text()
        assert page.locator("#state [data-http-status='401']").count() == 1
        page.fill("#api-key", "sasgw_not-a-key")
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#state [data-http-status='401']")
        assert "401 Non authentifié" in page.locator("#state").inner_text()
        tab.snap("mappings-401")
        page.fill("#api-key", keys[Role.LRM])
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#state [data-http-status='403']")
        assert "403 Accès refusé" in page.locator("#state").inner_text()
        # The LRM key is enough for the link diagnostics (kept for the tab: no retyping).
        page = tab.go(links_path(origin="TEST-SAMU000", inseecode="75117"))
        page.wait_for_selector("#diagnostics-table")
        assert page.locator("#link-validity").get_attribute("data-valid") == "true"
    finally:
        tab.close()
    assert script_errors(tab) == []


def test_the_steward_page_shows_problems_refuses_a_reload_then_reloads(
    browser: Any, keyed_gateway: tuple[str, dict[Role, str]], steward_dir: Path
) -> None:
    base, keys = keyed_gateway
    radius = steward_dir / "departement_radius.csv"
    synonyms = steward_dir / "specialty_synonyms.csv"
    good_radius, good_synonyms = radius.read_text("utf-8"), synonyms.read_text("utf-8")
    broken_line = len(good_radius.splitlines()) + 1
    radius.write_text(good_radius + "99,abc\n", encoding="utf-8")
    synonyms.write_text(good_synonyms + "toubib,TRE_R38,SM54,\n", encoding="utf-8")
    tab = Tab.open(browser, base)
    try:
        page = tab.go("/console/mappings")
        page.fill("#api-key", keys[Role.ADMIN])
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#tables")
        running = page.locator("#running-version").inner_text()
        where = f"{radius}:{broken_line}"
        row = page.locator("#tables tr[data-file='departement_radius.csv']")
        assert row.get_attribute("data-problems") == "1"
        assert where in row.locator("code.where").inner_text()
        assert page.locator("#disk-state").get_attribute("data-valid") == "false"
        assert "toubib" in page.locator("#diff ul[data-file='specialty_synonyms.csv']").inner_text()
        page.click("#reload")
        page.wait_for_selector("#reload-outcome[data-http-status='422']")
        outcome = page.locator("#reload-outcome").inner_text()
        assert "422" in outcome
        assert "refusé" in outcome
        assert where in outcome
        assert page.locator("#running-version").inner_text() == running
        tab.snap("mappings-refused")

        radius.write_text(good_radius, encoding="utf-8")
        page.reload()  # the key is kept for the tab
        page.wait_for_selector("#tables")
        assert page.locator("#disk-state").get_attribute("data-valid") == "true"
        page.click("#reload")
        page.wait_for_selector("#reload-outcome[data-http-status='200']")
        assert "200" in page.locator("#reload-outcome").inner_text()
        page.wait_for_selector("#no-diff")
        assert page.locator("#running-version").inner_text() != running
        tab.snap("mappings-reloaded")
        assert script_errors(tab) == []
    finally:
        tab.close()
        radius.write_text(good_radius, encoding="utf-8")
        synonyms.write_text(good_synonyms, encoding="utf-8")


def test_every_control_has_a_label(tab: Tab) -> None:
    for path in ("/console/links", "/console/mappings", "/console/terminology"):
        page = tab.go(path)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input, select, textarea, button')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                         && !e.textContent.trim())
            .map(e => e.outerHTML)"""
        )
        assert unlabelled == [], f"{path}: {unlabelled}"
        assert page.evaluate("document.documentElement.lang") == "fr"
