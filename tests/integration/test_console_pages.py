"""The console's pages and assets: served from the package, public, same-origin only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.auth.keys import Role, new_key
from gateway.settings import ConfigError, ConsoleSettings, SecuritySettings, Settings
from gateway.web.console_pages import (
    PAGES_DIR,
    STATIC_DIR,
    content_security_policy,
    tiles_source,
)
from tests.conftest import AppClient, make_client, offline_settings

PAGES = ("links", "mappings", "terminology")
#: src/href attributes of the pages; none may leave the gateway.
ASSET = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.fixture
async def keyed(tmp_path: Path) -> AsyncIterator[AppClient]:
    """With a keys file: the console itself must still need none."""
    keys = tmp_path / "api-keys"
    keys.write_text(new_key(Role.ADMIN, "admin")[1] + "\n", encoding="utf-8")
    settings = replace(offline_settings(), security=SecuritySettings(api_keys_file=keys))
    async with make_client(settings) as client:
        yield client


def test_console_settings_default_to_no_tiles() -> None:
    assert Settings().console == ConsoleSettings("", "")
    assert Settings.from_env({}).console.tiles_url == ""


def test_the_tiles_url_is_read_and_checked() -> None:
    tiles = "https://{s}.tiles.example/{z}/{x}/{y}.png"
    env = {"GATEWAY_CONSOLE_TILES_URL": tiles, "GATEWAY_CONSOLE_TILES_ATTRIBUTION": "© Ex"}
    console = Settings.from_env(env).console
    assert (console.tiles_url, console.tiles_attribution) == (tiles, "© Ex")
    for bad in ("ftp://tiles.example/{z}/{x}/{y}.png", "https://tiles.example/tile.png"):
        with pytest.raises(ConfigError, match="GATEWAY_CONSOLE_TILES_URL"):
            Settings.from_env({"GATEWAY_CONSOLE_TILES_URL": bad})


def test_the_content_security_policy_admits_only_this_origin_and_the_tiles() -> None:
    policy = content_security_policy(ConsoleSettings())
    assert "connect-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "img-src 'self' data:;" in policy
    assert "http" not in policy
    tiles = ConsoleSettings("https://{s}.tiles.example:8443/{z}/{x}/{y}.png")
    assert tiles_source(tiles.tiles_url) == "https://*.tiles.example:8443"
    assert "img-src 'self' data: https://*.tiles.example:8443;" in content_security_policy(tiles)
    assert tiles_source("/tiles/{z}/{x}/{y}.png") == ""


@pytest.mark.parametrize("page", PAGES)
async def test_each_page_is_french_html_with_its_headers_and_no_key(
    keyed: AppClient, page: str
) -> None:
    response = await keyed.get(f"/console/{page}", params={"origin": "X"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert '<html lang="fr">' in response.text
    assert f'src="static/js/{page}.js"' in response.text


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/console/static/js/links.js", "text/javascript"),
        ("/console/static/css/console.css", "text/css"),
        ("/console/static/vendor/leaflet/leaflet.js", "text/javascript"),
        ("/console/static/geo/departements.json", "application/json"),
        ("/console/static/geo/communes-92.json", "application/json"),
        ("/console/static/vendor/leaflet/images/marker-icon.png", "image/png"),
    ],
)
async def test_assets_are_served_with_their_type(keyed: AppClient, path: str, media: str) -> None:
    response = await keyed.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media


async def test_the_console_root_and_config(keyed: AppClient, client: AppClient) -> None:
    home = await keyed.get("/console/")
    assert home.status_code in (301, 302, 307, 308)
    assert home.headers["location"].endswith("/console/links")
    assert (await keyed.get("/console/config.json")).json() == {
        "tiles_url": "",
        "tiles_attribution": "",
        "keys_required": True,
    }
    assert (await client.get("/console/config.json")).json()["keys_required"] is False


async def test_nothing_outside_the_static_folder_is_served(keyed: AppClient) -> None:
    for path in (
        "/console/static/../pages/links.html",
        "/console/static/%2e%2e/pages/links.html",
        "/console/static/nothing.js",
        "/console/static/geo/communes-00.json",
        "/console/nowhere",
    ):
        assert (await keyed.get(path)).status_code == 404, path


async def test_console_routes_are_not_in_the_api_document(keyed: AppClient) -> None:
    paths = (await keyed.get("/schema/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


@pytest.mark.parametrize("page", PAGES)
def test_pages_load_nothing_from_a_cdn(page: str) -> None:
    html = (PAGES_DIR / f"{page}.html").read_text(encoding="utf-8")
    assets = ASSET.findall(html)
    assert assets, page
    for asset in assets:
        assert not re.match(r"^(?:[a-z]+:)?//", asset, re.IGNORECASE), asset
        assert asset.startswith(("static/", "data:", "#")) or asset in PAGES, asset
        if asset.startswith("static/"):
            assert (STATIC_DIR / asset.removeprefix("static/")).is_file(), asset


def test_our_scripts_and_styles_name_no_other_host() -> None:
    ours = [*STATIC_DIR.glob("js/*.js"), *STATIC_DIR.glob("css/*.css")]
    assert len(ours) >= 6
    for path in ours:
        assert "://" not in path.read_text(encoding="utf-8"), path.name


def test_the_vendored_map_library_keeps_its_licence() -> None:
    leaflet = STATIC_DIR / "vendor" / "leaflet"
    assert "BSD" in (leaflet / "VERSION").read_text(encoding="utf-8")
    assert "BSD 2-Clause License" in (leaflet / "LICENSE").read_text(encoding="utf-8")
    assert (leaflet / "leaflet.js").stat().st_size > 100_000


def test_the_outlines_cover_every_departement() -> None:
    import json

    outlines = json.loads((STATIC_DIR / "geo" / "departements.json").read_text("utf-8"))
    codes = {d["code"] for d in outlines["departements"]}
    assert {"01", "2A", "2B", "75", "92", "974"} <= codes
    assert len(codes) >= 100
    for code in codes:
        assert (STATIC_DIR / "geo" / f"communes-{code}.json").is_file(), code
    paris = json.loads((STATIC_DIR / "geo" / "communes-75.json").read_text("utf-8"))
    assert [c["insee"] for c in paris["communes"]] == [f"751{n:02d}" for n in range(1, 21)]
