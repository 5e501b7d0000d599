"""The one interface every domain component implements, and the parts they share.

A component (terminology, geography, directory, mappings, search, access control, and
later the directory sync, the availability poller, the console) is built from the
settings and the shared parts, and exposes what the composition root wires:

* ``provides()``: the objects handlers receive by litestar dependency injection, by name;
* ``background()``: long-running coroutines started with the app, cancelled at shutdown;
* ``health()``: its entries in ``/health/ready`` (and ``ready`` when it cannot serve);
* ``upstreams()`` / ``caches()`` / ``stats()``: what ``/metrics`` and
  ``/admin/cache/stats`` report;
* ``purge()``: drop its cache entries;
* ``replicated()``: the topics every replica must converge to (``gateway.replicas``);
* ``aclose()``.

Components are built in registration order; a component finds the ones it needs with
``registry.require(OtherComponent)``. Nothing here knows about HTTP frameworks: the web
layer pairs each component with its controllers (``gateway.app.COMPONENTS``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx

from gateway.cache import BoundedStore, CachedLoader, CacheStats
from gateway.cache.shared import SharedCache
from gateway.replicas import ReplicaSync, Replicated
from gateway.settings import Settings
from gateway.snapshot import SnapshotLoader, SnapshotReport
from gateway.upstream import UpstreamClient

T = TypeVar("T")
C = TypeVar("C", bound="Component")
L = TypeVar("L")

#: Injectable httpx transports by upstream name (tests pass respx / MockTransport):
#: ``Transports(smt=…, geocoder=…)``.
Transports = dict[str, httpx.AsyncBaseTransport]


@dataclass(frozen=True, slots=True)
class CacheFigures:
    stats: CacheStats
    entries: int
    bytes: int

    @classmethod
    def of(cls, loader: CachedLoader) -> CacheFigures:
        return cls(loader.stats, len(loader.store), loader.store.bytes)


@dataclass(frozen=True, slots=True)
class Parts:
    """What every component may build on: settings, transports, the shared tier, a clock."""

    settings: Settings
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    shared: SharedCache | None = None
    #: Announces versions to the other replicas (None without a shared tier).
    replicas: ReplicaSync | None = None
    #: The snapshot directory, read once for every component (``snapshot_loaders``).
    snapshot: LoadedSnapshot = field(default_factory=lambda: LoadedSnapshot({}, None))
    clock: Callable[[], float] = time.monotonic

    def transport(self, upstream: str) -> httpx.AsyncBaseTransport | None:
        return self.transports.get(upstream)

    def cache_loader(self) -> CachedLoader:
        """A cache bounded by ``GATEWAY_CACHE_MAX_ENTRIES`` / ``_MAX_BYTES``."""
        cache = self.settings.cache
        return CachedLoader(BoundedStore(cache.max_entries, cache.max_bytes, CacheStats()))


@dataclass(frozen=True, slots=True)
class LoadedSnapshot:
    """The loaders components declared, filled from one read of the snapshot directory."""

    loaders: Mapping[str, SnapshotLoader]
    report: SnapshotReport | None

    @property
    def read(self) -> SnapshotReport:
        """The report of the read (a component that declared loaders always has one)."""
        if self.report is None:
            raise LookupError("the snapshot was not read: no component declared loaders")
        return self.report

    def loader(self, name: str, kind: type[L]) -> L:
        found = self.loaders.get(name)
        if not isinstance(found, kind):
            raise LookupError(f"no snapshot loader {name!r} of type {kind.__name__}")
        return found


class Live(Generic[T]):
    """The current version of a live index; ``swap`` replaces it in one assignment, so a
    request that already read ``current`` finishes on the version it started with."""

    def __init__(self, value: T) -> None:
        self._current = value

    @property
    def current(self) -> T:
        return self._current

    def swap(self, value: T) -> T:
        previous, self._current = self._current, value
        return previous


class Component:
    """Base class: every hook is optional and defaults to "nothing here"."""

    #: Stable name: health entries, logs, registration.
    name: ClassVar[str]

    @classmethod
    def snapshot_loaders(cls) -> Mapping[str, SnapshotLoader]:
        """Fresh loaders (by name) for the resources this component reads from the snapshot
        directory; the assembly reads the directory once, for all of them, before building,
        and ``parts.snapshot.loader(name, type)`` hands them back."""
        return {}

    @classmethod
    def build(cls, parts: Parts, registry: Registry) -> Self:
        raise NotImplementedError

    def provides(self) -> Mapping[str, object]:
        return {}

    def background(self) -> Sequence[Callable[[], Awaitable[None]]]:
        return ()

    def health(self) -> Mapping[str, Any]:
        return {}

    @property
    def ready(self) -> bool:
        return True

    def upstreams(self) -> Sequence[UpstreamClient]:
        return ()

    def caches(self) -> Mapping[str, CacheFigures]:
        return {}

    def stats(self) -> Mapping[str, Mapping[str, Any]]:
        """Counters for ``/admin/cache/stats`` beyond ``caches()`` (counts, never keys)."""
        return {}

    async def purge(self) -> int:
        """Drop this component's cache entries; answers how many."""
        return 0

    def replicated(self) -> Sequence[Replicated]:
        """Topics whose version every replica converges to (e.g. the mappings version)."""
        return ()

    def gauges(self) -> Sequence[Gauge]:
        """Figures for Prometheus, read at scrape time (e.g. slots held per source)."""
        return ()

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Gauge:
    name: str
    help: str
    labels: tuple[str, ...]
    #: (label values, value) per sample.
    samples: tuple[tuple[tuple[str, ...], float], ...]


class Registry:
    """The components built so far, by type, in build order."""

    def __init__(self) -> None:
        self._built: dict[type[Component], Component] = {}

    def add(self, component: Component) -> None:
        self._built[type(component)] = component

    def require(self, kind: type[C]) -> C:
        found = self._built.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"component {kind.__name__} must be registered before its users")
        return found

    def __iter__(self) -> Any:
        return iter(self._built.values())

    def __len__(self) -> int:
        return len(self._built)
