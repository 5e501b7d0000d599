"""ASGI middleware: each request works with one version of the steward tables.

The version in force when the request arrives is pinned for the whole request (see
``ActiveMappings.pin``) and sent back as ``X-Mappings-Version``, so a response always
says which tables produced it, even when a reload lands while it is being computed.
"""

from __future__ import annotations

from typing import Any

from gateway.mappings.tables import ActiveMappings

HEADER = b"x-mappings-version"


class MappingsPinMiddleware:
    def __init__(self, app: Any, mappings: ActiveMappings) -> None:
        self.app = app
        self.mappings = mappings

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.mappings.pin() as pinned:
            header = (HEADER, pinned.version.encode())

            async def send_wrapper(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), header]
                await send(message)

            await self.app(scope, receive, send_wrapper)
