"""The access-control component: the consumers' API keys and their rate limits."""

from __future__ import annotations

import logging
from typing import Self

from gateway.auth.keys import KeyFileError, load_keys
from gateway.auth.policy import Authenticator
from gateway.component import Component, Parts, Registry
from gateway.settings import ConfigError, Settings

log = logging.getLogger("gateway")


class AuthComponent(Component):
    name = "auth"

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        return cls(build_authenticator(parts.settings))


def build_authenticator(settings: Settings) -> Authenticator:
    """The consumers' keys (``ConfigError`` for an unusable keys file), or open mode."""
    path = settings.security.api_keys_file
    if path is None:
        log.warning(
            "NO API KEYS: the service is OPEN to anyone who can reach it "
            "(set GATEWAY_API_KEYS_FILE; create keys with `gateway keys new`)"
        )
        return Authenticator(None, settings.security)
    try:
        keys = load_keys(path)
    except KeyFileError as exc:
        raise ConfigError(f"GATEWAY_API_KEYS_FILE: {exc}") from None
    log.info("API keys loaded", extra={"consumers": len(keys)})
    return Authenticator(keys, settings.security)
