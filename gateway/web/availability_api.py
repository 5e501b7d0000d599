"""``POST /admin/availability/refresh``: read every agenda source now."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency

from gateway.auth.policy import ACCESS, ADMIN
from gateway.availability.component import AvailabilityComponent
from gateway.web.error_docs import json_errors


class AvailabilityController(Controller):
    path = "/admin/availability"
    tags = ["Operations"]
    opt = {ACCESS: ADMIN}

    @post(
        "/refresh",
        summary="Refresh every agenda source now",
        description="Answers per source: calls made, slots and practitioners held, "
        "subscribed practitioners, skipped resources, the error if the source failed (its "
        "last good slots are then kept, marked stale) and the duration.",
        status_code=200,
        responses=json_errors(),
    )
    async def availability_refresh(
        self, availability: NamedDependency[AvailabilityComponent]
    ) -> dict[str, Any]:
        return {"sources": await availability.refresh_all()}
