"""``create_app(settings)``: wiring only."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from litestar import Controller, Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from gateway import __version__
from gateway.assembly import Assembly
from gateway.auth.component import AuthComponent
from gateway.auth.policy import ACCESS, OPS
from gateway.availability.component import AvailabilityComponent
from gateway.component import Component, Transports
from gateway.directory.component import DirectoryComponent
from gateway.geo.component import GeoComponent
from gateway.mappings.component import MappingsComponent
from gateway.observability.logging import configure_logging
from gateway.observability.metrics import Metrics
from gateway.observability.middleware import ObservabilityMiddleware
from gateway.search.component import SearchComponent
from gateway.settings import Settings
from gateway.terminology.component import TerminologyComponent
from gateway.web.auth_guard import access_guard
from gateway.web.availability_api import AvailabilityController
from gateway.web.contextual_api import ContextualSearchController
from gateway.web.cpts_api import CptsController
from gateway.web.cpts_members_api import CptsMembersController
from gateway.web.errors import EXCEPTION_HANDLERS
from gateway.web.fhir import FhirController
from gateway.web.geo_api import GeoController
from gateway.web.locations_api import LocationsController
from gateway.web.mappings_api import MappingsController
from gateway.web.mappings_pin import MappingsPinMiddleware
from gateway.web.ops import OpsController
from gateway.web.practitioners_api import PractitionersController
from gateway.web.rank_api import RankController
from gateway.web.search_api import SearchController
from gateway.web.terminology_api import TerminologyController


@dataclass(frozen=True, slots=True)
class Registration:
    component: type[Component]
    controllers: tuple[type[Controller], ...] = ()


#: The components, in build order (a component may use those above it), with the
#: controllers that serve them. Adding a component is one line here.
COMPONENTS: tuple[Registration, ...] = (
    Registration(TerminologyComponent, (FhirController, TerminologyController)),
    Registration(GeoComponent, (GeoController,)),
    Registration(DirectoryComponent, (PractitionersController, CptsController)),
    Registration(MappingsComponent, (MappingsController,)),
    Registration(AvailabilityComponent, (AvailabilityController,)),
    Registration(
        SearchComponent,
        (
            RankController,
            ContextualSearchController,
            SearchController,
            LocationsController,
            CptsMembersController,
        ),
    ),
    Registration(AuthComponent),
)

OPENAPI = OpenAPIConfig(
    title="SAS terminology & directory gateway",
    version=__version__,
    description="NOS terminology (FHIR facade and JSON API) for the SAS search front end.",
    path="/schema",
    render_plugins=[SwaggerRenderPlugin()],
    openapi_router=Router(
        path="/schema", route_handlers=[], opt={ACCESS: OPS}, include_in_schema=False
    ),
)


log = logging.getLogger("gateway")


def build_assembly(settings: Settings, transports: Transports | None = None) -> Assembly:
    """Every registered component, built from ``settings`` (framework-free)."""
    return Assembly.build((r.component for r in COMPONENTS), settings, transports)


def create_app(
    settings: Settings | None = None,
    *,
    transports: Transports | None = None,
    assembly: Assembly | None = None,
) -> Litestar:
    settings = settings or Settings()
    assembly = assembly or build_assembly(settings, transports)
    metrics = Metrics(assembly.caches, assembly.upstreams, assembly.parts.replicas, assembly.gauges)
    background: list[asyncio.Task[None]] = []

    async def startup() -> None:
        background.extend(await assembly.start())

    async def shutdown() -> None:
        for task in background:
            task.cancel()
        await assembly.aclose()

    provided = {**assembly.provides(), "assembly": assembly, "metrics": metrics}
    app = Litestar(
        route_handlers=[OpsController, *(c for r in COMPONENTS for c in r.controllers)],
        dependencies={name: _provide(value) for name, value in provided.items()},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        guards=[access_guard(assembly.get(AuthComponent).authenticator)],
        cors_config=cors_config(settings),
        request_max_body_size=settings.security.max_body_bytes,
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=OPENAPI,
        logging_config=None,  # logging is ours (JSON, see observability.logging)
        debug=False,
    )
    # Outermost, around routing too: unmatched paths (404) and methods (405) get a request
    # id, an access line and a metric like every other request (route middleware would not).
    app.asgi_handler = ObservabilityMiddleware(
        MappingsPinMiddleware(app.asgi_handler, assembly.get(MappingsComponent).active),
        metrics=metrics,
        access_log=settings.server.access_log,
    )
    return app


def _provide(value: object) -> Provide:
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


def cors_config(settings: Settings) -> CORSConfig | None:
    origins = list(settings.security.cors_origins)
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["X-API-Key", "Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "X-Cache", "X-Mappings-Version", "Warning", "Retry-After"],
        max_age=600,
    )


def app_factory() -> Litestar:
    """Entry point for the ASGI server: settings from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.server.log_level)
    return create_app(settings)
