"""Operations routes: liveness, readiness, Prometheus metrics, cache administration.

They speak for every component at once, through the ``Assembly``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from gateway.assembly import Assembly
from gateway.auth.policy import ACCESS, ADMIN, OPS
from gateway.observability.metrics import CONTENT_TYPE, Metrics
from gateway.web.error_docs import json_errors

#: Not an error body: the same report as a 200, with ``status: not_ready``.
_NOT_READY = ResponseSpec(
    data_container=dict[str, Any], description="Not ready (same report)", generate_examples=False
)


class OpsController(Controller):
    tags = ["Operations"]
    opt = {ACCESS: OPS}

    @get("/health/live", summary="The process is up", responses=json_errors())
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/health/ready",
        summary="Snapshot loaded; upstream reachable / degraded / offline",
        responses={**json_errors(), 503: _NOT_READY},
    )
    async def ready(self, assembly: NamedDependency[Assembly]) -> Response[dict[str, Any]]:
        ready = assembly.ready
        body: dict[str, Any] = {
            "status": "ready" if ready else "not_ready",
            **assembly.health(),
            "upstreams": {
                client.name: {
                    "state": client.state,
                    "breaker": client.breaker.state.value,
                    "last_error": client.status.last_error,
                }
                for client in assembly.upstreams()
            },
        }
        return Response(body, status_code=200 if ready else 503)

    @get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE, responses=json_errors())
    async def metrics(self, metrics: NamedDependency[Metrics]) -> Response[bytes]:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @get(
        "/admin/cache/stats",
        summary="Cache counters and sizes",
        opt={ACCESS: ADMIN},
        responses=json_errors(),
    )
    async def cache_stats(self, assembly: NamedDependency[Assembly]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, figures in assembly.caches().items():
            out[name] = {
                **figures.stats.as_dict(),
                "entries": figures.entries,
                "bytes": figures.bytes,
            }
        for component in assembly:
            out.update(component.stats())
        if assembly.shared is not None:
            out["shared"] = asdict(assembly.shared.stats)
        return out

    @post(
        "/admin/cache/purge",
        summary="Drop every cache entry (snapshot stays loaded)",
        status_code=200,
        opt={ACCESS: ADMIN},
        responses=json_errors(),
    )
    async def cache_purge(self, assembly: NamedDependency[Assembly]) -> dict[str, int]:
        return {"purged": await assembly.purge()}
