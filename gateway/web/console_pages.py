"""The console (``/console/``): three static pages and their assets, served from the package.

The pages hold no data: their scripts call the gateway's own API with the key the user
types (kept in the tab's ``sessionStorage``), and the API checks it. So the pages, their
assets and the map outlines (public data) need no key. A Content-Security-Policy keeps
everything on this origin: nothing the page holds (a patient's address in a launch URL)
can be sent anywhere but to the gateway, and no asset comes from a CDN. Only map tiles,
when ``GATEWAY_CONSOLE_TILES_URL`` names a server, are fetched from elsewhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from litestar import Controller, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from gateway.assembly import Assembly
from gateway.auth.component import AuthComponent
from gateway.auth.policy import ACCESS, PUBLIC
from gateway.settings import ConsoleSettings

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
PAGES_DIR = CONSOLE_DIR / "pages"
STATIC_DIR = CONSOLE_DIR / "static"
HTML = "text/html"  # litestar adds "; charset=utf-8"


def tiles_source(tiles_url: str) -> str:
    """The CSP source allowing the tile server (``{s}`` subdomains as ``*``); empty: none."""
    if not tiles_url.startswith(("http://", "https://")):
        return ""
    parts = urlsplit(tiles_url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(console: ConsoleSettings) -> str:
    images = " ".join(filter(None, ("'self'", "data:", tiles_source(console.tiles_url))))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


@cache
def page_bytes(name: str) -> bytes:
    return (PAGES_DIR / f"{name}.html").read_bytes()


def page(name: str, console: ConsoleSettings) -> Response[bytes]:
    return Response(
        page_bytes(name),
        media_type=HTML,
        headers={
            "Content-Security-Policy": content_security_policy(console),
            # The query string of /console/links may hold a patient's address.
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


class ConsoleController(Controller):
    path = "/console"
    opt = {ACCESS: PUBLIC}
    include_in_schema = False

    @get("/")
    async def console_home(self) -> Redirect:
        return Redirect("/console/links")

    @get("/links")
    async def console_links(self, assembly: NamedDependency[Assembly]) -> Response[bytes]:
        return page("links", assembly.parts.settings.console)

    @get("/mappings")
    async def console_mappings(self, assembly: NamedDependency[Assembly]) -> Response[bytes]:
        return page("mappings", assembly.parts.settings.console)

    @get("/terminology")
    async def console_terminology(self, assembly: NamedDependency[Assembly]) -> Response[bytes]:
        return page("terminology", assembly.parts.settings.console)

    @get("/config.json")
    async def console_config(self, assembly: NamedDependency[Assembly]) -> dict[str, object]:
        console = assembly.parts.settings.console
        return {
            "tiles_url": console.tiles_url,
            "tiles_attribution": console.tiles_attribution,
            "keys_required": not assembly.get(AuthComponent).authenticator.open,
        }


def console_routes() -> list[type[Controller] | Router]:
    """The page routes and the static assets (``/console/static/…``)."""
    static = create_static_files_router(
        path="/console/static",
        directories=[STATIC_DIR],
        name="console_static",
        opt={ACCESS: PUBLIC},
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=300),
    )
    return [ConsoleController, static]
