"""The app-wide guard applying :mod:`gateway.auth.policy` to every route handler.

The key comes from ``X-API-Key`` or ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from gateway.auth.policy import Authenticator


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    authenticator: Authenticator = connection.app.state.auth
    await authenticator.admit(connection.scope["path"], presented_key(connection))
