"""Optional shared cache tier (Valkey/Redis, ``GATEWAY_REDIS_URL``) under the in-process one.

What is shared: the bodies of successful idempotent upstream GETs (SMT, Annuaire, ROR:
public reference data), so that a value one replica fetched is served to the others
without another upstream call. Never the geocoder's answers: they hold patients'
addresses, which stay in each process's memory only.

Cross-replica state: ``announce(topic, version)`` writes a topic's version under
``<prefix>:state:<topic>`` and publishes the topic on one channel; ``read_state`` reads it
back (``gateway.replicas`` retries failed announcements and reconciles every replica, so a
lost message cannot leave replicas divergent). Topics: ``mappings`` (the steward tables'
version) and ``purge`` (an operator purged the caches; the shared keys are deleted once,
by the replica that received the purge).

``count(name, window_s)`` is a fixed-window counter shared by every replica (the per-key
request rate). ``lease(name, ttl_s)`` elects one replica for a job (it expires when that
replica dies); ``put_blob``/``get_blob`` hand its result to the others (availability).

Redis is never required: every error (down, slow, evicted) is logged at debug level and
counted, and the call goes to the upstream as if the tier did not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("gateway.cache.shared")
CHANNEL = "events"
Handler = Callable[[str], Awaitable[None]]
#: Renew the lease if this instance holds it, else take it if nobody does.
_LEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2]) return 1
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""


@dataclass(slots=True)
class SharedStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0
    errors: int = 0
    events_sent: int = 0
    events_received: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class SharedCache:
    def __init__(
        self, url: str, *, prefix: str = "sasgw", ttl_s: float = 3600.0, timeout_s: float = 0.25
    ) -> None:
        self.prefix = prefix
        self.ttl_s = ttl_s
        #: Tells this replica's own events from the others'.
        self.instance = secrets.token_hex(8)
        self.stats = SharedStats()
        #: False after a failed operation, True again after the next one that works.
        self.healthy = True
        self._redis: aioredis.Redis = aioredis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def key(self, upstream: str, url: str, params: Mapping[str, str] | None) -> str:
        query = json.dumps(sorted((params or {}).items()), ensure_ascii=False)
        digest = hashlib.sha256(f"{url}\0{query}".encode()).hexdigest()[:32]
        return f"{self.prefix}:http:{upstream}:{digest}"

    async def get(self, key: str) -> bytes | None:
        try:
            found = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            self._error(exc)
            return None
        self.healthy = True
        if found is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return found if isinstance(found, bytes) else str(found).encode()

    async def set(self, key: str, value: bytes) -> None:
        try:
            await self._redis.set(key, value, ex=max(1, int(self.ttl_s)))
            self.stats.writes += 1
            self.healthy = True
        except (RedisError, OSError) as exc:
            self._error(exc)

    async def purge(self) -> int:
        """Delete every shared entry of this gateway (the prefix's keys)."""
        deleted = 0
        try:
            async for key in self._redis.scan_iter(match=f"{self.prefix}:http:*", count=500):
                deleted += int(await self._redis.unlink(key))
        except (RedisError, OSError) as exc:
            self._error(exc)
        return deleted

    async def announce(self, topic: str, version: str) -> bool:
        """Record ``topic``'s new version and tell the other replicas; False on failure."""
        message = json.dumps({"event": topic, "from": self.instance})
        try:
            await self._redis.set(self._state_key(topic), version)
            await self._redis.publish(f"{self.prefix}:{CHANNEL}", message)
        except (RedisError, OSError) as exc:
            self._error(exc)
            return False
        self.stats.events_sent += 1
        self.healthy = True
        return True

    async def read_state(self, topic: str) -> str | None:
        """``topic``'s announced version; None when none was announced or Valkey fails."""
        try:
            found = await self._redis.get(self._state_key(topic))
        except (RedisError, OSError) as exc:
            self._error(exc)
            return None
        self.healthy = True
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    async def count(self, name: str, window_s: int) -> int | None:
        """Calls counted for ``name`` in the current ``window_s`` window, this one included,
        across every replica; None when Valkey fails (the caller fails open)."""
        window = int(time.time()) // window_s
        key = f"{self.prefix}:rate:{name}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window_s + 1)
                found, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._error(exc)
            return None
        self.healthy = True
        return int(found)

    async def lease(self, name: str, ttl_s: float) -> bool | None:
        """Take or renew the lease ``name`` for ``ttl_s``: True when this replica holds it,
        False when another does, None when Valkey fails (the caller decides alone)."""
        try:
            held = await self._redis.eval(
                _LEASE, 1, f"{self.prefix}:lease:{name}", self.instance, int(ttl_s * 1000)
            )
        except (RedisError, OSError) as exc:
            self._error(exc)
            return None
        self.healthy = True
        return bool(held)

    async def put_blob(self, name: str, value: bytes, ttl_s: float) -> bool:
        try:
            await self._redis.set(f"{self.prefix}:blob:{name}", value, px=int(ttl_s * 1000))
        except (RedisError, OSError) as exc:
            self._error(exc)
            return False
        self.healthy = True
        return True

    async def get_blob(self, name: str) -> bytes | None:
        try:
            found = await self._redis.get(f"{self.prefix}:blob:{name}")
        except (RedisError, OSError) as exc:
            self._error(exc)
            return None
        self.healthy = True
        return found if isinstance(found, bytes) or found is None else str(found).encode()

    def _state_key(self, topic: str) -> str:
        return f"{self.prefix}:state:{topic}"

    async def listen(self, handle: Handler, *, retry_s: float = 2.0) -> None:
        """Run ``handle(event)`` for every other replica's event, forever (reconnecting)."""
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(f"{self.prefix}:{CHANNEL}")
                async for message in pubsub.listen():
                    await self._dispatch(message, handle)
            except (RedisError, OSError) as exc:
                self._error(exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(retry_s)

    async def _dispatch(self, message: Any, handle: Handler) -> None:
        try:
            body = json.loads(message["data"])
            event, sender = str(body["event"]), str(body["from"])
        except (KeyError, TypeError, ValueError):
            return
        if sender == self.instance:
            return
        self.stats.events_received += 1
        try:
            await handle(event)
        except Exception:  # a handler bug must not stop the listener
            log.exception("shared cache event handler failed", extra={"event": event})

    async def ping(self) -> bool:
        try:
            self.healthy = bool(await self._redis.ping())
        except (RedisError, OSError) as exc:
            self._error(exc)
        return self.healthy

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _error(self, exc: BaseException) -> None:
        self.healthy = False
        self.stats.errors += 1
        kind = type(exc).__name__
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        log.debug("shared cache unavailable", extra={"error": kind})
