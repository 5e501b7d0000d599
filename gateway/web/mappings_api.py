"""``/admin/mappings``: the stewards' tables: their state against the files on disk, and
``POST /admin/mappings/reload``, validated and swapped at once."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency

from gateway.auth.policy import ACCESS, ADMIN
from gateway.mappings.component import MappingsComponent
from gateway.mappings.status import MappingsStatus
from gateway.web.error_docs import json_errors


class MappingsController(Controller):
    path = "/admin/mappings"
    tags = ["Operations"]
    opt = {ACCESS: ADMIN}

    @get(
        "/",
        summary="The tables in force, the files on disk, their problems and the diff",
        description="Per table: rows in force and on disk, what a reload would refuse "
        "(file:line), warnings, and the rows a reload would add, remove or change. Nothing "
        "is swapped in.",
        responses=json_errors(),
    )
    async def mappings_status(
        self, steward_tables: NamedDependency[MappingsComponent]
    ) -> MappingsStatus:
        return await steward_tables.status()

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
