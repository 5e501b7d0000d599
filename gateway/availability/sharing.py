"""Availability across replicas (``GATEWAY_REDIS_URL`` set): one poller per source.

Each source has a lease in Valkey (``lease:availability:<source>``, twice the refresh
interval): the replica holding it reads the source and publishes the new state as a blob
(``blob:availability:<source>``, msgpack); the others adopt each new blob instead of
reading the source. When the poller dies its lease expires and another replica takes it
at its next round. When Valkey is down, every replica reads its sources itself (what a
single replica does): availability keeps flowing, at the sources' cost.
"""

from __future__ import annotations

import hashlib

import msgspec

from gateway.availability.state import SourceState
from gateway.cache.shared import SharedCache


def lease_name(source: str) -> str:
    return f"availability:{source}"


def encode(state: SourceState) -> bytes:
    return msgspec.msgpack.encode(state)


def decode(blob: bytes) -> SourceState | None:
    try:
        return msgspec.msgpack.decode(blob, type=SourceState)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def digest(blob: bytes) -> str:
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


async def publish(shared: SharedCache, state: SourceState, ttl_s: float) -> bool:
    return await shared.put_blob(lease_name(state.name), encode(state), ttl_s)


async def adopt(
    shared: SharedCache, source: str, known: str | None
) -> tuple[SourceState, str] | None:
    """The state another replica published, when it differs from ``known`` (a digest)."""
    blob = await shared.get_blob(lease_name(source))
    if blob is None:
        return None
    found = digest(blob)
    if found == known:
        return None
    state = decode(blob)
    return None if state is None else (state, found)
