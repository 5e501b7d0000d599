"""``POST /admin/mappings/reload``: the stewards' tables, validated and swapped at once."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency

from gateway.auth.policy import ACCESS, ADMIN
from gateway.mappings.component import MappingsComponent
from gateway.web.error_docs import json_errors


class MappingsController(Controller):
    path = "/admin/mappings"
    tags = ["Operations"]
    opt = {ACCESS: ADMIN}

    @post(
        "/reload",
        summary="Re-read and validate the steward tables, then swap them in atomically",
        description="A table with any problem is rejected (422, every problem with its file "
        "and line) and the version in force stays active.",
        status_code=200,
        responses=json_errors(422),
    )
    async def mappings_reload(
        self, steward_tables: NamedDependency[MappingsComponent]
    ) -> dict[str, Any]:
        previous, loaded = await steward_tables.reload()
        return {
            "version": loaded.version,
            "previous_version": previous.version,
            "changed": loaded.version != previous.version,
            "warnings": list(loaded.warnings),
        }
