"""Operations routes: liveness, readiness, Prometheus metrics, cache administration."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec

from gateway.observability.metrics import CONTENT_TYPE
from gateway.web.deps import services
from gateway.web.error_docs import json_errors

#: Not an error body: the same report as a 200, with ``status: not_ready``.
_NOT_READY = ResponseSpec(
    data_container=dict[str, Any], description="Not ready (same report)", generate_examples=False
)


class OpsController(Controller):
    tags = ["Operations"]

    @get("/health/live", summary="The process is up", responses=json_errors())
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/health/ready",
        summary="Snapshot loaded; upstream reachable / degraded / offline",
        responses={**json_errors(), 503: _NOT_READY},
    )
    async def ready(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        svc = services(request)
        report = svc.snapshot_report
        body: dict[str, Any] = {
            "status": "ready" if svc.ready else "not_ready",
            "snapshot": {
                "files": report.files,
                "resources": svc.store.summary(),
                "errors": report.errors,
            },
            "shared_cache": "off" if svc.shared is None else "on",
            "mappings": {
                "version": svc.mappings.current.version,
                "warnings": list(svc.mappings.current.warnings),
            },
            "upstreams": {
                client.name: {
                    "state": client.state,
                    "breaker": client.breaker.state.value,
                    "last_error": client.status.last_error,
                }
                for client in svc.upstreams
            },
        }
        return Response(body, status_code=200 if svc.ready else 503)

    @get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE, responses=json_errors())
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)

    @get("/admin/cache/stats", summary="Cache counters and sizes", responses=json_errors())
    async def cache_stats(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        svc = services(request)
        out: dict[str, Any] = {}
        for name, (stats, entries, nbytes) in svc.cache_figures().items():
            out[name] = {**stats.as_dict(), "entries": entries, "bytes": nbytes}
        # Patient addresses: counts only, never keys.
        out["geocode"] = {
            **asdict(svc.geo.cache.stats),
            **svc.geo.stats.as_dict(),
            "entries": len(svc.geo.cache),
        }
        if svc.shared is not None:
            out["shared"] = asdict(svc.shared.stats)
        return out

    @post(
        "/admin/cache/purge",
        summary="Drop every cache entry (snapshot stays loaded)",
        status_code=200,
        responses=json_errors(),
    )
    async def cache_purge(self, request: Request[Any, Any, Any]) -> dict[str, int]:
        return {"purged": await services(request).purge_caches()}

    @post(
        "/admin/mappings/reload",
        summary="Re-read and validate the steward tables, then swap them in atomically",
        description="A table with any problem is rejected (422, every problem with its file "
        "and line) and the version in force stays active.",
        status_code=200,
        responses=json_errors(422),
    )
    async def mappings_reload(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        previous, loaded = await services(request).reload_mappings()
        return {
            "version": loaded.version,
            "previous_version": previous.version,
            "changed": loaded.version != previous.version,
            "warnings": list(loaded.warnings),
        }
