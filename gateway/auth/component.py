"""The access-control component: the consumers' API keys and their rate limits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Self

from gateway.auth.keys import KeyFileError, load_keys
from gateway.auth.policy import Authenticator
from gateway.cache.shared import SharedCache
from gateway.component import Component, Parts, Registry
from gateway.settings import ConfigError, Settings

log = logging.getLogger("gateway")


class AuthComponent(Component):
    name = "auth"

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        return cls(build_authenticator(parts.settings, parts.shared))

    def background(self) -> Sequence[Callable[[], Awaitable[None]]]:
        # Said when the service starts serving, not when a command (``gateway openapi``)
        # merely builds the app.
        return (self._warn_if_open,) if self.authenticator.open else ()

    async def _warn_if_open(self) -> None:
        log.warning(
            "NO API KEYS: the service is OPEN to anyone who can reach it "
            "(set GATEWAY_API_KEYS_FILE; create keys with `gateway keys new`)"
        )


def build_authenticator(settings: Settings, shared: SharedCache | None = None) -> Authenticator:
    """The consumers' keys (``ConfigError`` for an unusable keys file), or open mode."""
    path = settings.security.api_keys_file
    if path is None:
        return Authenticator(None, settings.security)
    try:
        keys = load_keys(path)
    except KeyFileError as exc:
        raise ConfigError(f"GATEWAY_API_KEYS_FILE: {exc}") from None
    log.info("API keys loaded", extra={"consumers": len(keys)})
    return Authenticator(keys, settings.security, shared)
