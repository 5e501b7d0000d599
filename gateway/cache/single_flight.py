"""Per-key single-flight for asyncio: N concurrent calls for one key → one ``produce()``.

Followers share the leader's result or exception. A follower whose leader was cancelled
(client gone) but who was not cancelled itself takes over and produces on its own behalf.
Hand-written: no maintained asyncio library offers this with those cancellation semantics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class SingleFlight(Generic[V]):
    def __init__(self, on_join: Callable[[], None] | None = None) -> None:
        self._inflight: dict[Hashable, asyncio.Future[V]] = {}
        #: Called each time a call joins a flight already under way (statistics).
        self._on_join = on_join

    def __contains__(self, key: Hashable) -> bool:
        return key in self._inflight

    def __len__(self) -> int:
        return len(self._inflight)

    async def run(self, key: Hashable, produce: Callable[[], Awaitable[V]]) -> V:
        pending = self._inflight.get(key)
        if pending is not None:
            if self._on_join is not None:
                self._on_join()
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise
                return await self.run(key, produce)  # the leader was cancelled, not us
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await produce()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without followers
            raise
        else:
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)
