"""UpstreamClient: headers, content checks, retries, timeouts, breaker, rate limit, state.

HTTP is served by a respx router plugged in as an ``httpx.MockTransport``: no network, and
every request the client sends is recorded on the route.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from gateway.errors import UpstreamBadResponse, UpstreamUnavailable
from gateway.settings import UpstreamSettings
from gateway.upstream import BreakerState, CircuitBreaker, UpstreamClient
from gateway.upstream.client import FHIR_JSON, _retry_after_s

BASE = "https://smt.test/fhir"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}
BUNDLE = {"resourceType": "Bundle", "type": "searchset", "total": 0}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "x"}]}

ClientFactory = Callable[..., UpstreamClient]


def fhir(
    status: int = 200, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body or BUNDLE, headers={**FHIR_HEADERS, **(headers or {})})


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(base_url=BASE, assert_all_called=False)


@pytest.fixture
async def make_client(router: respx.MockRouter) -> AsyncIterator[ClientFactory]:
    clients: list[UpstreamClient] = []

    def make(**overrides: Any) -> UpstreamClient:
        options: dict[str, Any] = {
            "url": BASE,
            "connect_timeout_s": 0.2,
            "read_timeout_s": 1.0,
            "budget_s": 2.0,
            "retries": 2,
            "breaker_failures": 3,
            "breaker_reset_s": 30.0,
            "rate_per_s": 1000.0,
            **overrides,
        }
        client = UpstreamClient(
            UpstreamSettings(name="smt", **options),
            transport=httpx.MockTransport(router.async_handler),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Pending:
    """A side effect that hangs until released; counts the requests that reached it.

    (respx records a call only once its side effect has answered, so ``route.call_count``
    cannot show a request that is still in flight.)
    """

    def __init__(self, hang_s: float | None = None) -> None:
        self.started = 0
        self.release = asyncio.Event()
        self.hang_s = hang_s

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.started += 1
        if self.hang_s is not None:
            await asyncio.sleep(self.hang_s)
        else:
            await self.release.wait()
        return fhir()

    async def wait_started(self, count: int = 1) -> None:
        for _ in range(10_000):
            if self.started >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{self.started} requests started, expected {count}")


# --- request and response checks -----------------------------------------------------------


async def test_every_request_sends_accept_fhir_json(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    search = router.get("/CodeSystem", headers={"Accept": FHIR_JSON})
    search.side_effect = [fhir(503), fhir()]  # the retried attempt must carry it too
    expand = router.post("/ValueSet/$expand", headers={"Accept": FHIR_JSON}).mock(
        return_value=fhir()
    )
    client = make_client()

    await client.get("/CodeSystem", params={"url": "https://example.org/cs"})
    await client.post("/ValueSet/$expand", json={"resourceType": "Parameters"})

    assert search.call_count == 2
    assert expand.call_count == 1
    requests = [call.request for call in router.calls]
    assert len(requests) == 3
    assert all(request.headers["Accept"] == FHIR_JSON for request in requests)
    assert search.calls.last.request.url.params["url"] == "https://example.org/cs"


async def test_caller_headers_are_sent_alongside_accept(router: respx.MockRouter) -> None:
    route = router.get("/metadata").mock(return_value=fhir())
    client = UpstreamClient(
        UpstreamSettings(name="smt", url=BASE),
        transport=httpx.MockTransport(router.async_handler),
        headers={"X-Api-Key": "k"},
    )
    try:
        await client.get("/metadata")
    finally:
        await client.aclose()

    request = route.calls.last.request
    assert request.headers["X-Api-Key"] == "k"
    assert request.headers["Accept"] == FHIR_JSON


async def test_html_200_raises_bad_response(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(
        return_value=httpx.Response(
            200, text="<html>login</html>", headers={"Content-Type": "text/html"}
        )
    )
    client = make_client()

    with pytest.raises(UpstreamBadResponse, match="text/html"):
        await client.get("/CodeSystem")

    assert route.call_count == 1  # a wrong content type is not retried
    assert client.status.errors_by_kind == {"upstream_bad_response": 1}


async def test_200_without_content_type_raises_bad_response(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    router.get("/CodeSystem").mock(return_value=httpx.Response(200, content=b"{}"))

    with pytest.raises(UpstreamBadResponse, match="no content type"):
        await make_client().get("/CodeSystem")


async def test_404_is_returned_to_the_caller(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem/unknown").mock(return_value=fhir(404, OUTCOME))
    client = make_client()

    response = await client.get("/CodeSystem/unknown")

    assert response.status_code == 404
    assert response.json() == OUTCOME
    assert route.call_count == 1
    assert client.status.errors == 0
    assert client.breaker.state is BreakerState.CLOSED
    assert client.state == "reachable"


# --- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_transient_5xx_then_200_is_retried_and_succeeds_for_get(
    router: respx.MockRouter, make_client: ClientFactory, status: int
) -> None:
    route = router.get("/CodeSystem")
    route.side_effect = [fhir(status, OUTCOME), fhir()]
    client = make_client()

    response = await client.get("/CodeSystem")

    assert response.status_code == 200
    assert route.call_count == 2
    assert client.status.calls == 2
    assert client.status.errors == 0
    assert client.state == "reachable"


async def test_persistent_503_exhausts_retries_and_raises_unavailable(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(return_value=fhir(503, OUTCOME))
    client = make_client(retries=2)

    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        await client.get("/CodeSystem")

    assert route.call_count == 3  # 1 + retries
    assert client.status.errors_by_kind == {"http_503": 1}  # one logical failure


async def test_500_is_not_retried(router: respx.MockRouter, make_client: ClientFactory) -> None:
    route = router.get("/CodeSystem").mock(return_value=fhir(500, OUTCOME))

    with pytest.raises(UpstreamUnavailable, match="HTTP 500"):
        await make_client().get("/CodeSystem")

    assert route.call_count == 1


async def test_post_not_declared_idempotent_is_not_retried(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.post("/ValueSet/$expand")
    route.side_effect = [fhir(503, OUTCOME), fhir()]
    client = make_client(retries=2)

    with pytest.raises(UpstreamUnavailable):
        await client.post("/ValueSet/$expand", json={"resourceType": "Parameters"})

    assert route.call_count == 1


async def test_post_declared_idempotent_is_retried(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.post("/ValueSet/$expand")
    route.side_effect = [fhir(503, OUTCOME), fhir()]
    body = {"resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": "x"}]}

    response = await make_client().post("/ValueSet/$expand", json=body, idempotent=True)

    assert response.status_code == 200
    assert route.call_count == 2
    assert all(call.request.content == route.calls[0].request.content for call in route.calls)
    assert b'"valueUri":"x"' in route.calls.last.request.content.replace(b" ", b"")


@pytest.mark.parametrize("retry_after", ["1", "soon"])
async def test_429_with_retry_after_is_retried(
    router: respx.MockRouter, make_client: ClientFactory, retry_after: str
) -> None:
    route = router.get("/CodeSystem")
    route.side_effect = [fhir(429, OUTCOME, headers={"Retry-After": retry_after}), fhir()]
    client = make_client()

    response = await client.get("/CodeSystem")

    assert response.status_code == 200
    assert route.call_count == 2
    assert client.status.errors == 0


async def test_connect_error_raises_unavailable_after_retries(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(side_effect=httpx.ConnectError)
    client = make_client(retries=2)

    with pytest.raises(UpstreamUnavailable, match="unreachable: ConnectError"):
        await client.get("/CodeSystem")

    assert route.call_count == 3
    assert client.status.errors_by_kind == {"ConnectError": 1}


async def test_connect_error_then_success_is_retried(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem")
    route.side_effect = [httpx.ConnectError("refused"), fhir()]

    response = await make_client().get("/CodeSystem")

    assert response.status_code == 200
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("header", "cap", "expected"),
    [
        ("2", 8.0, 2.0),
        ("0", 8.0, 0.0),
        ("120", 8.0, 8.0),
        ("-5", 8.0, 0.0),
        ("soon", 8.0, None),
        ("", 8.0, None),
    ],
)
def test_retry_after_header_parsing(header: str, cap: float, expected: float | None) -> None:
    response = httpx.Response(429, headers={"Retry-After": header})

    assert _retry_after_s(response, cap) == expected


def test_retry_after_http_date() -> None:
    future = datetime.now(UTC) + timedelta(seconds=60)
    past = datetime.now(UTC) - timedelta(seconds=60)

    def parsed(when: datetime) -> float | None:
        header = email.utils.format_datetime(when, usegmt=True)
        return _retry_after_s(httpx.Response(429, headers={"Retry-After": header}), 100.0)

    assert parsed(future) == pytest.approx(60, abs=2)
    assert parsed(past) == 0.0
    assert _retry_after_s(httpx.Response(429), 100.0) is None


# --- timeouts ---------------------------------------------------------------------------------


async def test_slower_than_budget_raises_unavailable_fast(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    slow = Pending(hang_s=5.0)
    router.get("/CodeSystem").mock(side_effect=slow)
    client = make_client(budget_s=0.2, read_timeout_s=5.0)

    started = time.perf_counter()
    with pytest.raises(UpstreamUnavailable, match=r"did not answer within 0\.2s"):
        await client.get("/CodeSystem")
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0  # sanity bound only: the budget cut the 5 s answer short
    assert slow.started == 1  # cut short, not retried past the budget
    assert client.status.errors_by_kind == {"timeout": 1}


async def test_read_timeout_from_transport_is_retried_then_unavailable(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(side_effect=httpx.ReadTimeout)
    client = make_client(retries=1)

    with pytest.raises(UpstreamUnavailable, match="ReadTimeout"):
        await client.get("/CodeSystem")

    assert route.call_count == 2


# --- circuit breaker --------------------------------------------------------------------------


async def test_breaker_opens_after_n_failures_then_fails_without_http(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(return_value=fhir(503, OUTCOME))
    client = make_client(breaker_failures=3, retries=0)

    for _ in range(3):
        with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
            await client.get("/CodeSystem")
    assert route.call_count == 3
    assert client.breaker.state is BreakerState.OPEN

    for _ in range(5):
        with pytest.raises(UpstreamUnavailable, match="circuit open") as rejected:
            await client.get("/CodeSystem")
        assert rejected.value.details["retry_after_s"] > 0

    assert route.call_count == 3  # no request went out while open
    assert client.state == "down"


async def test_breaker_counts_logical_calls_not_attempts(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(return_value=fhir(503, OUTCOME))
    client = make_client(breaker_failures=2, retries=2)

    with pytest.raises(UpstreamUnavailable):
        await client.get("/CodeSystem")

    assert route.call_count == 3
    assert client.breaker.state is BreakerState.CLOSED


async def test_half_open_lets_exactly_one_probe_through_and_success_closes(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(breaker_failures=1, retries=0)
    client.breaker = CircuitBreaker(1, 30.0, clock=clock)
    route = router.get("/CodeSystem")
    route.side_effect = [fhir(503, OUTCOME)]
    with pytest.raises(UpstreamUnavailable):
        await client.get("/CodeSystem")
    assert client.breaker.state is BreakerState.OPEN

    clock.now += 30.0
    upstream = Pending()
    route.side_effect = upstream

    probe = asyncio.create_task(client.get("/CodeSystem"))
    await upstream.wait_started(1)
    with pytest.raises(UpstreamUnavailable, match="circuit open"):
        await client.get("/CodeSystem")  # a second caller while the probe is out
    assert upstream.started == 1

    upstream.release.set()
    assert (await probe).status_code == 200
    assert route.call_count == 2  # the failure that opened it, then the probe
    assert client.breaker.allow()  # closed again: calls go out freely
    assert client.state == "reachable"


async def test_cancelled_probe_does_not_wedge_the_breaker(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(breaker_failures=1, retries=0)
    client.breaker = CircuitBreaker(1, 30.0, clock=clock)
    route = router.get("/CodeSystem")
    route.side_effect = [fhir(503, OUTCOME)]
    with pytest.raises(UpstreamUnavailable):
        await client.get("/CodeSystem")
    clock.now += 30.0

    hanging = Pending()
    route.side_effect = hanging
    probe = asyncio.create_task(client.get("/CodeSystem"))
    await hanging.wait_started(1)
    probe.cancel()  # e.g. the downstream client went away
    with pytest.raises(asyncio.CancelledError):
        await probe

    route.side_effect = None
    route.return_value = fhir()
    response = await client.get("/CodeSystem")  # a new probe may go out

    assert response.status_code == 200
    assert client.breaker.state is BreakerState.CLOSED
    assert client.status.errors == 1  # the cancellation is not counted as a failure


# --- offline and state --------------------------------------------------------------------------


async def test_empty_url_is_offline_and_never_calls(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    router.route().mock(return_value=fhir())
    client = make_client(url="")

    with pytest.raises(UpstreamUnavailable, match="offline"):
        await client.get("/CodeSystem")
    with pytest.raises(UpstreamUnavailable, match="offline"):
        await client.post("/ValueSet/$expand", json={}, idempotent=True)

    assert router.calls.call_count == 0
    assert client.status.calls == 0
    assert client.state == "offline"


async def test_state_reports_reachable_degraded_and_down(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem")
    client = make_client(breaker_failures=3, retries=0)

    route.side_effect = [fhir()]
    await client.get("/CodeSystem")
    assert client.state == "reachable"

    route.side_effect = [fhir(503, OUTCOME)]
    with pytest.raises(UpstreamUnavailable):
        await client.get("/CodeSystem")
    assert client.state == "degraded"  # last call failed, breaker still closed
    assert client.status.last_error == "http_503"

    route.side_effect = [fhir()]
    await client.get("/CodeSystem")
    assert client.state == "reachable"

    route.side_effect = [fhir(503, OUTCOME)] * 3
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await client.get("/CodeSystem")
    assert client.state == "down"


# --- rate limiting ----------------------------------------------------------------------------


async def test_rate_limiter_spaces_calls_but_lets_them_all_through(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(return_value=fhir())
    client = make_client(rate_per_s=5.0, budget_s=5.0)

    started = time.perf_counter()
    responses = await asyncio.gather(*(client.get("/CodeSystem") for _ in range(10)))
    elapsed = time.perf_counter() - started

    assert route.call_count == 10
    assert all(r.status_code == 200 for r in responses)
    assert elapsed >= 0.8  # 5 at once, the other 5 spread over about a second


async def test_rate_below_one_per_second_is_usable_and_still_limits(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/CodeSystem").mock(return_value=fhir())
    client = make_client(rate_per_s=0.5, budget_s=0.3)

    first, second = await asyncio.gather(
        client.get("/CodeSystem"), client.get("/CodeSystem"), return_exceptions=True
    )

    assert isinstance(first, httpx.Response)
    assert first.status_code == 200
    assert isinstance(second, UpstreamUnavailable)  # the next slot is 2 s away
    assert route.call_count == 1


async def test_waiting_on_our_own_rate_limit_is_not_an_upstream_failure(
    make_client: ClientFactory, router: respx.MockRouter
) -> None:
    router.get("/CodeSystem").mock(return_value=fhir())
    client = make_client(rate_per_s=1.0, budget_s=0.3, breaker_failures=1)
    await client.get("/CodeSystem")  # takes the only token of this second
    with pytest.raises(UpstreamUnavailable, match="rate limit"):
        await client.get("/CodeSystem")
    assert client.breaker.state is BreakerState.CLOSED
    assert client.status.errors_by_kind == {"rate_limited": 1}


async def test_redirect_loop_is_a_bad_response_counted_by_the_breaker(
    make_client: ClientFactory, router: respx.MockRouter
) -> None:
    router.get("/loop").mock(return_value=httpx.Response(302, headers={"Location": f"{BASE}/loop"}))
    client = make_client(breaker_failures=1)
    with pytest.raises(UpstreamBadResponse, match="TooManyRedirects"):
        await client.get("/loop")
    assert client.breaker.state is BreakerState.OPEN
