"""Upstream HTTP clients: timeouts, retries with jitter, circuit breaker, rate limiting."""

from gateway.upstream.breaker import BreakerState, CircuitBreaker
from gateway.upstream.client import UpstreamClient, UpstreamStatus

__all__ = ["BreakerState", "CircuitBreaker", "UpstreamClient", "UpstreamStatus"]
