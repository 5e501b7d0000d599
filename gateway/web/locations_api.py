"""``POST /admin/locations/reload``: the practice-location index, re-read and swapped in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency

from gateway.auth.policy import ACCESS, ADMIN
from gateway.search.component import SearchComponent
from gateway.web.error_docs import json_errors


class LocationsController(Controller):
    path = "/admin/locations"
    tags = ["Operations"]
    opt = {ACCESS: ADMIN}

    @post(
        "/reload",
        summary="Re-read the practice-location index and swap it in without a restart",
        description="Searches under way finish on the index they started with. An unusable "
        "file is refused (422) and the index in force stays. With a shared tier, the other "
        "replicas reload too.",
        status_code=200,
        responses=json_errors(422),
    )
    async def locations_reload(
        self, practice_locations: NamedDependency[SearchComponent]
    ) -> dict[str, Any]:
        previous, loaded = await practice_locations.reload()
        return {
            **loaded.describe(),
            "previous_version": previous.version,
            "changed": loaded.version != previous.version,
        }
