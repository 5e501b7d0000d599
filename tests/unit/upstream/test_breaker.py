"""CircuitBreaker: closed → open after N consecutive failures → half-open probe → closed/open."""

from __future__ import annotations

import pytest

from gateway.upstream import BreakerState, CircuitBreaker

THRESHOLD, RESET = 3, 30.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=THRESHOLD, reset_after_s=RESET, clock=clock)


def state_of(breaker: CircuitBreaker) -> BreakerState:
    # (a call, so that mypy does not narrow ``breaker.state`` across clock changes)
    return breaker.state


def open_breaker(breaker: CircuitBreaker) -> None:
    for _ in range(THRESHOLD):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_new_breaker_is_closed_and_allows_calls(breaker: CircuitBreaker) -> None:
    assert breaker.state is BreakerState.CLOSED
    assert all(breaker.allow() for _ in range(10))
    assert breaker.retry_after_s() == 0.0


def test_stays_closed_below_the_failure_threshold(breaker: CircuitBreaker) -> None:
    for _ in range(THRESHOLD - 1):
        breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_opens_after_n_consecutive_failures(breaker: CircuitBreaker) -> None:
    for _ in range(THRESHOLD):
        assert breaker.state is BreakerState.CLOSED
        breaker.record_failure()

    assert breaker.state is BreakerState.OPEN


def test_a_success_resets_the_consecutive_failure_count(breaker: CircuitBreaker) -> None:
    for _ in range(THRESHOLD - 1):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(THRESHOLD - 1):
        breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED


def test_rejects_calls_while_open(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)

    assert not any(breaker.allow() for _ in range(5))
    clock.advance(RESET - 0.5)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after_s() == pytest.approx(0.5)


def test_half_open_after_reset_allows_exactly_one_probe(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_breaker(breaker)
    clock.advance(RESET)

    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.retry_after_s() == 0.0
    assert breaker.allow() is True
    assert [breaker.allow() for _ in range(5)] == [False] * 5
    clock.advance(RESET * 10)  # still only the one probe, however long it takes
    assert breaker.allow() is False


def test_successful_probe_closes_the_breaker(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(RESET)
    assert breaker.allow()

    breaker.record_success()

    assert breaker.state is BreakerState.CLOSED
    assert all(breaker.allow() for _ in range(5))
    # and the failure count started over
    for _ in range(THRESHOLD - 1):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_failed_probe_reopens_for_a_full_reset_period(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_breaker(breaker)
    clock.advance(RESET)
    assert breaker.allow()

    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after_s() == pytest.approx(RESET)
    clock.advance(RESET - 1)
    assert breaker.state is BreakerState.OPEN
    clock.advance(1)
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert breaker.allow()  # a new probe is allowed after the new period


def test_failed_probe_reopens_even_with_a_high_threshold(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=RESET, clock=clock)
    breaker.record_failure()
    clock.advance(RESET)
    assert breaker.allow()
    breaker.failure_threshold = 100  # the probe's failure alone must reopen

    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN


def test_released_probe_lets_another_probe_out(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(RESET)
    assert breaker.allow()
    assert not breaker.allow()

    breaker.release_probe()  # e.g. the probing request was cancelled

    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() is True
    assert breaker.allow() is False
