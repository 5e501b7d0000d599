"""Who may call what: each route declares its ``Access``, API key → consumer, rate limit.

Framework-free. Every controller (or route) declares its access in litestar's ``opt``
(``opt={ACCESS: SEARCH}``), and ``gateway.web.auth_guard`` applies it; a route that
declares none is refused to everyone but admins, and a test fails when one exists. The
declarations in force:

* ``/admin/*``: ``ADMIN``.
* ``/v1/contextual-search/links``: ``LINKS`` (LRM editors' link builder, or admin).
* ``/v1/contextual-search/resolve``: ``RESOLVE`` (search, lrm to preview a launch, admin).
* ``/health/*``, ``/metrics``, ``/schema*``: ``OPS``, anyone when ``public_ops`` (the
  default, for probes and scrapers on a private network), else admin.
* terminology, FHIR, directory, geography, search, rank: ``SEARCH`` (search or admin).
* ``/console/*``: ``PUBLIC``, static pages and public map outlines, never data: the pages
  call the API with the key the user types, and the API checks it.

Without a keys file the service runs open (``Authenticator.open``); it says so loudly at
start.

``GATEWAY_KEY_RATE`` is per key across every worker and replica when the shared tier is
configured (a fixed one-second window counted in Valkey); when Valkey fails, or without a
shared tier, each process enforces it on its own (a token bucket), so N processes allow up
to N times the rate.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from gateway.auth.keys import Consumer, KeyRing, Role
from gateway.cache.shared import SharedCache
from gateway.errors import Forbidden, RateLimited, Unauthorized
from gateway.settings import SecuritySettings

log = logging.getLogger("gateway.auth")
#: The ``opt`` key routes declare their access under.
ACCESS = "access"


@dataclass(frozen=True, slots=True)
class Access:
    """The roles allowed on a route; ``ops``: no key needed when ``public_ops`` is on;
    ``public``: no key needed at all."""

    roles: frozenset[Role]
    ops: bool = False
    public: bool = False

    def required(self, public_ops: bool) -> frozenset[Role] | None:
        """The roles to check; None: no key needed."""
        return None if self.public or (self.ops and public_ops) else self.roles


ADMIN = Access(frozenset({Role.ADMIN}))
LINKS = Access(frozenset({Role.LRM, Role.ADMIN}))
RESOLVE = Access(frozenset({Role.SEARCH, Role.LRM, Role.ADMIN}))
SEARCH = Access(frozenset({Role.SEARCH, Role.ADMIN}))
OPS = Access(frozenset({Role.ADMIN}), ops=True)
PUBLIC = Access(frozenset(), public=True)
#: A route that declares nothing is treated as this: closed to all but admins.
UNDECLARED = ADMIN


class Authenticator:
    def __init__(
        self,
        keys: KeyRing | None,
        settings: SecuritySettings,
        shared: SharedCache | None = None,
    ) -> None:
        self.keys = keys
        self.settings = settings
        self.shared = shared
        self._limiters: dict[str, AsyncLimiter] = {}
        self._failing_open = False

    @property
    def open(self) -> bool:
        return self.keys is None

    async def admit(self, access: Access, presented: str | None) -> Consumer | None:
        """The consumer behind ``presented`` if it may use a route declaring ``access`` now;
        raises ``Unauthorized`` (no or unknown key), ``Forbidden`` (wrong role) or
        ``RateLimited``."""
        if self.keys is None:
            return None
        roles = access.required(self.settings.public_ops)
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
        if self.shared is not None and await self._shared_limit(consumer):
            return consumer
        await self._local_limit(consumer)
        return consumer

    async def _shared_limit(self, consumer: Consumer) -> bool:
        """Count the call in Valkey (raises ``RateLimited`` past the rate); False when
        Valkey does not answer and the per-process limit must do."""
        assert self.shared is not None
        rate = self.settings.key_rate_per_s
        window_s = max(1, math.ceil(1.0 / rate))
        allowed = max(1, math.floor(rate * window_s))
        counted = await self.shared.count(f"key:{consumer.label}", window_s)
        if counted is None:
            if not self._failing_open:
                self._failing_open = True
                log.warning("key rates cannot be shared (Valkey down): counted per process")
            return False
        self._failing_open = False
        if counted > allowed:
            raise RateLimited(
                "Too many requests for this API key",
                details={"retry_after_s": float(window_s - time.time() % window_s)},
            )
        return True

    async def _local_limit(self, consumer: Consumer) -> None:
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
