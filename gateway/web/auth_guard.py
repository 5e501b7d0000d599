"""The app-wide guard applying :mod:`gateway.auth.policy` to every route handler.

The key comes from ``X-API-Key`` or ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from gateway.auth.policy import ACCESS, UNDECLARED, Authenticator


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def access_guard(authenticator: Authenticator) -> Guard:
    """The app-wide guard: the route's declared ``Access`` (``opt``), checked against the
    presented key. A route declaring none is closed to all but admins."""

    async def require_api_key(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        access = handler.opt.get(ACCESS, UNDECLARED)
        await authenticator.admit(access, presented_key(connection))

    return require_api_key
