"""One ``httpx.AsyncClient`` per upstream, with the resilience every call needs.

* connect/read timeouts and a total budget per logical call (retries included);
* retries with exponential backoff and jitter, via ``stamina``, for idempotent calls only,
  on transport errors, 502/503/504 and 429 (honouring ``Retry-After``);
* a circuit breaker (``gateway.upstream.breaker``) that fails fast while the upstream is down;
* a client-side rate limiter (``aiolimiter``) so we never exceed the upstream's quota;
* ``Accept: application/fhir+json`` on every request, and a check that the answer *is*
  JSON (the SMT answers HTML without that header, a proxy may answer an HTML error page).

``get_json`` adds, for every client, what a status and a body mean (``answers``).
The transport is injectable: tests pass respx/``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import stamina
from aiolimiter import AsyncLimiter

from gateway.cache.shared import SharedCache
from gateway.errors import UpstreamBadResponse, UpstreamError, UpstreamUnavailable
from gateway.settings import UpstreamSettings
from gateway.upstream.answers import NOT_FOUND, JsonAnswer, read_json, worth_sharing
from gateway.upstream.breaker import BreakerState, CircuitBreaker

T = TypeVar("T")
#: Multipart form fields and files (name → (file name, content, media type)).
Form = tuple[Mapping[str, str | list[str]], Mapping[str, tuple[str, bytes, str]]]
FHIR_JSON = "application/fhir+json"
_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


@dataclass(slots=True)
class UpstreamStatus:
    """Counters and last outcome, for ``/health/ready`` and ``/metrics``."""

    calls: int = 0
    errors: int = 0
    last_success_at: float | None = None
    last_error_at: float | None = None
    last_error: str | None = None
    errors_by_kind: dict[str, int] = field(default_factory=dict)


def _retry_after_s(response: httpx.Response, cap_s: float) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return min(cap_s, max(0.0, float(raw)))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None  # unparsable: fall back to the normal backoff
    return min(cap_s, max(0.0, parsed.timestamp() - time.time()))


class UpstreamClient:
    def __init__(
        self,
        settings: UpstreamSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        shared: SharedCache | None = None,
        refusal_hint: str = "",
    ) -> None:
        self.settings = settings
        #: Appended to the error for a 401/403: which settings to check.
        self.refusal_hint = refusal_hint
        #: Replicas' shared tier for successful GETs (public reference data only).
        self.shared = shared
        self.name = settings.name
        self.status = UpstreamStatus()
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s)
        # aiolimiter refuses to acquire more than ``max_rate`` at once, so a rate below 1/s
        # is expressed as one call per (1 / rate) seconds.
        burst = max(1.0, settings.rate_per_s)
        self._limiter = AsyncLimiter(max_rate=burst, time_period=burst / settings.rate_per_s)
        timeout = httpx.Timeout(
            settings.read_timeout_s, connect=settings.connect_timeout_s, pool=settings.budget_s
        )
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            timeout=timeout,
            transport=transport,
            auth=auth,
            headers={"Accept": FHIR_JSON, "User-Agent": "sas-gateway", **(headers or {})},
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def state(self) -> str:
        """``offline`` (no URL), ``reachable``, ``degraded`` (last call failed) or ``down``."""
        if not self.settings.enabled:
            return "offline"
        if self.breaker.state is not BreakerState.CLOSED:
            return "down"
        last_ok, last_err = self.status.last_success_at, self.status.last_error_at
        if last_err is not None and (last_ok is None or last_err > last_ok):
            return "degraded"
        return "reachable"

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """Idempotent GET: retried. Returns 2xx and semantic 4xx (e.g. 404) responses.

        With a shared tier, a body another replica fetched is served from it (also while
        this replica's breaker is open), and every 200 is written to it."""
        if self.shared is None or not self.settings.enabled:
            return await self._call("GET", path, params=params, idempotent=True)
        key = self.shared.key(self.name, path, params)
        body = await self.shared.get(key)
        if body is not None:
            request = self._client.build_request("GET", path, params=params)
            return httpx.Response(
                200, content=body, headers={"Content-Type": FHIR_JSON}, request=request
            )
        response = await self._call("GET", path, params=params, idempotent=True)
        if response.status_code == 200 and worth_sharing(response.content):
            await self.shared.set(key, response.content)
        return response

    @property
    def base_url(self) -> httpx.URL:
        return self._client.base_url

    async def get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        type: type[T],
        absent: Collection[int] = NOT_FOUND,
    ) -> T | None:
        """GET decoded into ``type``; ``None`` for an ``absent`` status. Any other 4xx or an
        undecodable body raises (see ``gateway.upstream.answers``)."""
        answer = await self.fetch_json(path, params, type=type, absent=absent)
        return None if answer is None else answer.value

    async def fetch_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        type: type[T],
        absent: Collection[int] = NOT_FOUND,
    ) -> JsonAnswer[T] | None:
        """``get_json`` keeping the raw body and the URL that answered (for paging)."""
        response = await self.get(path, params)
        return read_json(response, type, absent, self.name, self.refusal_hint)

    async def post_form(
        self,
        path: str,
        *,
        data: Mapping[str, str | list[str]],
        files: Mapping[str, tuple[str, bytes, str]],
        accept: str,
    ) -> httpx.Response:
        """A multipart POST answered in ``accept`` (e.g. a CSV batch): retried like a GET,
        for the callers whose operation is a read (a batch geocoding)."""
        return await self._call("POST", path, form=(data, files), idempotent=True, expect=accept)

    async def post(self, path: str, *, json: object, idempotent: bool = False) -> httpx.Response:
        """POST; retried only if the caller declares the operation idempotent (FHIR ops are)."""
        return await self._call("POST", path, json=json, idempotent=idempotent)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        form: Form | None = None,
        idempotent: bool,
        expect: str = "json",
    ) -> httpx.Response:
        if not self.settings.enabled:
            raise UpstreamUnavailable(
                f"{self.name} is not configured (offline mode)", upstream=self.name
            )
        if not self.breaker.allow():
            raise UpstreamUnavailable(
                f"{self.name} is failing; circuit open",
                upstream=self.name,
                details={"retry_after_s": round(self.breaker.retry_after_s(), 1)},
            )
        probe = self.breaker.state is BreakerState.HALF_OPEN
        attempts = 1 + (self.settings.retries if idempotent else 0)
        sent: list[int] = []
        try:
            async with asyncio.timeout(self.settings.budget_s):
                response = await self._with_retries(
                    method, path, params, json, form, attempts, sent, expect
                )
            response = self._checked(response, expect)
        except TimeoutError:
            if not sent:
                # Queued behind our own rate limiter for the whole budget: local overload,
                # not an upstream failure, so the breaker is not told.
                if probe:
                    self.breaker.release_probe()
                self._count("rate_limited")
                raise UpstreamUnavailable(
                    f"{self.name} rate limit ({self.settings.rate_per_s:g}/s) kept this call "
                    f"waiting past its {self.settings.budget_s:g}s budget",
                    upstream=self.name,
                ) from None
            self._failed("timeout")
            raise UpstreamUnavailable(
                f"{self.name} did not answer within {self.settings.budget_s:g}s", upstream=self.name
            ) from None
        except _RetryableStatus as exc:
            self._failed(f"http_{exc.response.status_code}")
            raise UpstreamUnavailable(
                f"{self.name} answered HTTP {exc.response.status_code}", upstream=self.name
            ) from None
        except httpx.TransportError as exc:
            self._failed(type(exc).__name__)
            raise UpstreamUnavailable(
                f"{self.name} unreachable: {type(exc).__name__}", upstream=self.name
            ) from None
        except httpx.HTTPError as exc:  # redirect loops, undecodable bodies…
            self._failed(type(exc).__name__)
            raise UpstreamBadResponse(
                f"{self.name} sent an unusable answer: {type(exc).__name__}", upstream=self.name
            ) from None
        except UpstreamError as exc:
            self._failed(exc.code)
            raise
        except BaseException:
            # Cancelled (or an unexpected error): no verdict on the upstream, but a half-open
            # probe must not stay "in flight" forever or the breaker never lets a call out.
            if probe:
                self.breaker.release_probe()
            raise
        self.breaker.record_success()
        self.status.last_success_at = time.time()
        return response

    async def _with_retries(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: object,
        form: Form | None,
        attempts: int,
        sent: list[int],
        expect: str,
    ) -> httpx.Response:
        cap = self.settings.budget_s

        def backoff(exc: Exception) -> bool | float:
            if isinstance(exc, _RetryableStatus):
                if exc.response.status_code not in _RETRYABLE_STATUS:
                    return False  # e.g. 500: an error, but not a transient one
                return _retry_after_s(exc.response, cap) or True
            return isinstance(exc, httpx.TransportError)

        async for attempt in stamina.retry_context(
            on=backoff, attempts=attempts, timeout=cap, wait_initial=0.1, wait_max=2.0
        ):
            with attempt:
                await self._limiter.acquire()
                sent.append(1)
                self.status.calls += 1
                if form is None:
                    # An empty mapping would drop the query a (resumed, next) link carries.
                    response = await self._client.request(
                        method, path, params=params or None, json=json
                    )
                else:
                    response = await self._client.request(
                        method, path, data=form[0], files=form[1], headers={"Accept": expect}
                    )
                if response.status_code in _RETRYABLE_STATUS or response.status_code >= 500:
                    raise _RetryableStatus(response)
                return response
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _checked(self, response: httpx.Response, expect: str) -> httpx.Response:
        content_type = response.headers.get("Content-Type", "")
        if response.status_code < 400 and expect.split("/")[-1] not in content_type:
            wanted = "FHIR JSON" if expect == "json" else expect
            raise UpstreamBadResponse(
                f"{self.name} answered {content_type or 'no content type'} instead of {wanted}",
                upstream=self.name,
            )
        return response

    def _failed(self, kind: str) -> None:
        self.breaker.record_failure()
        self.status.last_error_at = time.time()
        self.status.last_error = kind
        self._count(kind)

    def _count(self, kind: str) -> None:
        self.status.errors += 1
        self.status.errors_by_kind[kind] = self.status.errors_by_kind.get(kind, 0) + 1
