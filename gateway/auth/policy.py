"""Who may call what: route → roles, API key → consumer, per-key rate limit.

Framework-free; ``gateway.web.auth_guard`` applies it to every route. Rules:

* ``/admin/*``: admin.
* ``/v1/contextual-search/links``: lrm (the LRM editors' link builder) or admin.
* ``/v1/contextual-search/resolve``: search, lrm (to preview a launch) or admin.
* ``/health/*``, ``/metrics``, ``/schema*``: anyone when ``public_ops`` (the default, for
  probes and scrapers on a private network), else admin.
* everything else (terminology, FHIR, directory, geography, search, rank): search or admin.

Without a keys file the service runs open (``Authenticator.open``); it says so loudly at
start.
"""

from __future__ import annotations

from aiolimiter import AsyncLimiter

from gateway.auth.keys import Consumer, KeyRing, Role
from gateway.errors import Forbidden, RateLimited, Unauthorized
from gateway.settings import SecuritySettings

_ADMIN = frozenset({Role.ADMIN})
_LINKS = frozenset({Role.LRM, Role.ADMIN})
_RESOLVE = frozenset({Role.SEARCH, Role.LRM, Role.ADMIN})
_SEARCH = frozenset({Role.SEARCH, Role.ADMIN})
_OPS_PREFIXES = ("/health/", "/metrics", "/schema")


def required_roles(path: str, public_ops: bool) -> frozenset[Role] | None:
    """The roles allowed on ``path``; None: no key needed."""
    if path.startswith("/admin/"):
        return _ADMIN
    if path.startswith(_OPS_PREFIXES):
        return None if public_ops else _ADMIN
    if path.startswith("/v1/contextual-search/links"):
        return _LINKS
    if path.startswith("/v1/contextual-search/"):
        return _RESOLVE
    return _SEARCH


class Authenticator:
    def __init__(self, keys: KeyRing | None, settings: SecuritySettings) -> None:
        self.keys = keys
        self.settings = settings
        self._limiters: dict[str, AsyncLimiter] = {}

    @property
    def open(self) -> bool:
        return self.keys is None

    async def admit(self, path: str, presented: str | None) -> Consumer | None:
        """The consumer behind ``presented`` if it may call ``path`` now; raises
        ``Unauthorized`` (no or unknown key), ``Forbidden`` (wrong role) or ``RateLimited``."""
        if self.keys is None:
            return None
        roles = required_roles(path, self.settings.public_ops)
        if roles is None:
            return None
        if not presented:
            raise Unauthorized("An API key is required (header X-API-Key)")
        consumer = self.keys.authenticate(presented)
        if consumer is None:
            raise Unauthorized("Unknown API key")
        if consumer.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(
                f"The '{consumer.role.value}' role may not use this route (allowed: {allowed})",
                details={"role": consumer.role.value},
            )
        limiter = self._limiters.get(consumer.label)
        if limiter is None:
            rate = self.settings.key_rate_per_s
            # aiolimiter needs max_rate >= 1: a rate below 1/s is one call per 1/rate s.
            burst = max(1.0, rate)
            limiter = self._limiters[consumer.label] = AsyncLimiter(burst, burst / rate)
        if not limiter.has_capacity():
            raise RateLimited(
                "Too many requests for this API key",
                details={"retry_after_s": 1.0 / self.settings.key_rate_per_s},
            )
        await limiter.acquire()
        return consumer
