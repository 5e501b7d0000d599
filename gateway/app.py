"""``create_app(settings)``: wiring only."""

from __future__ import annotations

import asyncio
import logging

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from gateway import __version__
from gateway.auth.keys import KeyFileError, load_keys
from gateway.auth.policy import Authenticator
from gateway.container import Services, Transports, build_services
from gateway.directory.cpts import CptsIndex
from gateway.directory.cpts_source import communes_of, keep_refreshed
from gateway.observability.logging import configure_logging
from gateway.observability.metrics import Metrics
from gateway.observability.middleware import ObservabilityMiddleware
from gateway.settings import ConfigError, Settings
from gateway.web.auth_guard import require_api_key
from gateway.web.contextual_api import ContextualSearchController
from gateway.web.cpts_api import CptsController
from gateway.web.errors import EXCEPTION_HANDLERS
from gateway.web.fhir import FhirController
from gateway.web.geo_api import GeoController
from gateway.web.mappings_pin import MappingsPinMiddleware
from gateway.web.ops import OpsController
from gateway.web.practitioners_api import PractitionersController
from gateway.web.rank_api import RankController
from gateway.web.search_api import SearchController
from gateway.web.terminology_api import TerminologyController

OPENAPI = OpenAPIConfig(
    title="SAS terminology & directory gateway",
    version=__version__,
    description="NOS terminology (FHIR facade and JSON API) for the SAS search front end.",
    path="/schema",
    render_plugins=[SwaggerRenderPlugin()],
)


log = logging.getLogger("gateway")


def create_app(
    settings: Settings | None = None,
    *,
    transports: Transports | None = None,
    services: Services | None = None,
) -> Litestar:
    settings = settings or Settings()
    svc = services or build_services(settings, transports)
    auth = build_authenticator(settings)
    metrics = Metrics(svc.cache_figures, lambda: svc.upstreams)

    background: list[asyncio.Task[None]] = []

    async def startup(app: Litestar) -> None:
        if svc.shared is not None:
            if not await svc.shared.ping():
                log.warning("the shared cache tier is unreachable; serving without it meanwhile")
            listener = svc.shared.listen(svc.on_shared_event)
            background.append(asyncio.get_running_loop().create_task(listener))
        if svc.ror is not None:

            def publish(index: CptsIndex) -> None:
                app.state.cpts = index

            refresher = keep_refreshed(svc.ror, communes_of(svc.geo.communes), publish)
            background.append(asyncio.get_running_loop().create_task(refresher))

    async def shutdown() -> None:
        for task in background:
            task.cancel()
        await svc.aclose()

    app = Litestar(
        route_handlers=[
            FhirController,
            TerminologyController,
            PractitionersController,
            GeoController,
            CptsController,
            RankController,
            ContextualSearchController,
            SearchController,
            OpsController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        guards=[require_api_key],
        cors_config=cors_config(settings),
        request_max_body_size=settings.security.max_body_bytes,
        state=State(
            {"services": svc, "metrics": metrics, "geo": svc.geo, "cpts": svc.cpts, "auth": auth}
        ),
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=OPENAPI,
        logging_config=None,  # logging is ours (JSON, see observability.logging)
        debug=False,
    )
    # Outermost, around routing too: unmatched paths (404) and methods (405) get a request
    # id, an access line and a metric like every other request (route middleware would not).
    app.asgi_handler = ObservabilityMiddleware(
        MappingsPinMiddleware(app.asgi_handler, svc.mappings),
        metrics=metrics,
        access_log=settings.server.access_log,
    )
    return app


def build_authenticator(settings: Settings) -> Authenticator:
    """The consumers' keys (``ConfigError`` for an unusable keys file), or open mode."""
    path = settings.security.api_keys_file
    if path is None:
        log.warning(
            "NO API KEYS: the service is OPEN to anyone who can reach it "
            "(set GATEWAY_API_KEYS_FILE; create keys with `gateway keys new`)"
        )
        return Authenticator(None, settings.security)
    try:
        keys = load_keys(path)
    except KeyFileError as exc:
        raise ConfigError(f"GATEWAY_API_KEYS_FILE: {exc}") from None
    log.info("API keys loaded", extra={"consumers": len(keys)})
    return Authenticator(keys, settings.security)


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
