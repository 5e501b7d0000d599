"""The geography component: the commune reference and the (patient) geocoder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, Self

from gateway.component import Component, Parts, Registry
from gateway.geo.service import GeoService, build_geo_service
from gateway.upstream import UpstreamClient


class GeoComponent(Component):
    name = "geo"

    def __init__(self, service: GeoService) -> None:
        self.service = service

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        return cls(build_geo_service(parts.settings, parts.transport("geocoder")))

    def provides(self) -> Mapping[str, object]:
        return {"geo": self.service}

    def upstreams(self) -> Sequence[UpstreamClient]:
        return (self.service.upstream,)

    def stats(self) -> Mapping[str, Mapping[str, Any]]:
        # Patient addresses: counts only, never keys.
        return {
            "geocode": {
                **asdict(self.service.cache.stats),
                **self.service.stats.as_dict(),
                "entries": len(self.service.cache),
            }
        }

    async def aclose(self) -> None:
        await self.service.aclose()
