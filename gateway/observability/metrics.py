"""Prometheus metrics (``prometheus_client``), one registry per app.

Request counters are updated by the middleware; cache and upstream figures are read from
their owners at scrape time by a custom collector, so the hot path pays nothing for them.
Labels are route templates and fixed words only, never values from a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.component import CacheFigures, Gauge
from gateway.replicas import ReplicaSync
from gateway.upstream import BreakerState, UpstreamClient

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class _StateCollector(Collector):
    def __init__(
        self,
        caches: Callable[[], Mapping[str, CacheFigures]],
        upstreams: Callable[[], Iterable[UpstreamClient]],
        replicas: ReplicaSync | None,
        gauges: Callable[[], Iterable[Gauge]] = lambda: (),
    ) -> None:
        self._caches = caches
        self._upstreams = upstreams
        self._replicas = replicas
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "gateway_cache_events", "Cache events by kind", labels=["cache", "event"]
        )
        entries = GaugeMetricFamily("gateway_cache_entries", "Entries held", labels=["cache"])
        size = GaugeMetricFamily("gateway_cache_bytes", "Approximate bytes held", labels=["cache"])
        for name, figures in self._caches().items():
            for event, value in figures.stats.as_dict().items():
                events.add_metric([name, event], value)
            entries.add_metric([name], figures.entries)
            size.add_metric([name], figures.bytes)
        calls = CounterMetricFamily(
            "gateway_upstream_calls", "HTTP calls sent", labels=["upstream"]
        )
        errors = CounterMetricFamily(
            "gateway_upstream_errors", "Failed logical calls", labels=["upstream", "kind"]
        )
        breaker = GaugeMetricFamily(
            "gateway_upstream_breaker_state", "0 closed, 1 half-open, 2 open", labels=["upstream"]
        )
        for client in self._upstreams():
            calls.add_metric([client.name], client.status.calls)
            for kind, value in client.status.errors_by_kind.items():
                errors.add_metric([client.name, kind], value)
            breaker.add_metric([client.name], _BREAKER_VALUE[client.breaker.state])
        yield from (events, entries, size, calls, errors, breaker)
        for gauge in self._gauges():
            family = GaugeMetricFamily(gauge.name, gauge.help, labels=list(gauge.labels))
            for labels, sample in gauge.samples:
                family.add_metric(list(labels), sample)
            yield family
        if self._replicas is not None:
            yield from self._replication(self._replicas)

    @staticmethod
    def _replication(replicas: ReplicaSync) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "gateway_shared_tier_up", "1: Valkey answers and nothing is pending, 0: degraded"
        )
        up.add_metric([], 1 if replicas.state == "on" else 0)
        pending = GaugeMetricFamily(
            "gateway_replication_pending", "Announcements not yet delivered to the other replicas"
        )
        pending.add_metric([], len(replicas.pending))
        counters = CounterMetricFamily(
            "gateway_replication_events", "Cross-replica announcements", labels=["event"]
        )
        for event, value in asdict(replicas.stats).items():
            counters.add_metric([event], value)
        yield from (up, pending, counters)


class Metrics:
    def __init__(
        self,
        caches: Callable[[], Mapping[str, CacheFigures]],
        upstreams: Callable[[], Iterable[UpstreamClient]],
        replicas: ReplicaSync | None = None,
        gauges: Callable[[], Iterable[Gauge]] = lambda: (),
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Request latency",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.registry.register(_StateCollector(caches, upstreams, replicas, gauges))
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # Labelled children are cached: ``labels()`` takes a lock and builds a tuple.
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, route, str(status))
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.latency.labels(route)
        counter.inc()
        histogram.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
