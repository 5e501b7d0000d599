"""OAuth2 client-credentials bearer token for the ROR API, as an ``httpx.Auth``.

* The token is fetched from ``GATEWAY_ROR_TOKEN_URL`` (``grant_type=client_credentials``,
  client id and secret in the form body, as the ROR Keycloak realm expects), cached, and
  refreshed ``refresh_margin_s`` before it expires.
* Single flight: however many requests need a token at once, one token request goes out and
  every waiter shares its outcome; a cancelled waiter does not cancel it for the others.
* A failure (timeout, transport error, non-200, unusable body) raises a clear
  ``UpstreamUnavailable`` and is never remembered: the next request tries again. If an
  *early* refresh fails while the current token is still valid, that token keeps being used
  and the refresh is retried ``retry_after_error_s`` later.
* A 401 from the API (token revoked early) drops that token and replays the request once.

Hand-written (about 150 lines) rather than authlib's ``AsyncOAuth2Client``: authlib would
be a new dependency for one grant type, and its httpx integration is a client subclass that
refreshes inside its own ``request()``, so it cannot sit behind ``UpstreamClient`` (retries,
breaker, rate limit); a plain ``httpx.Auth`` plugs into ``UpstreamClient(auth=...)``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass, replace

import httpx
import msgspec

from gateway.errors import UpstreamUnavailable

log = logging.getLogger("gateway.directory.ror")


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float
    expires_at: float


class _TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str = "Bearer"
    expires_in: float = 300.0


class _OAuthError(msgspec.Struct):
    error: str = ""


class ClientCredentialsAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` to every request (async clients only)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        upstream: str = "ror",
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        timeout: httpx.Timeout | float = 5.0,
        refresh_margin_s: float = 60.0,
        retry_after_error_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.upstream = upstream
        self._client_id = client_id
        self._client_secret = client_secret
        self._margin = refresh_margin_s
        self._retry_after_error_s = retry_after_error_s
        self._clock = clock
        self._http = httpx.AsyncClient(transport=transport, verify=verify, timeout=timeout)
        self._token: _Token | None = None
        self._inflight: asyncio.Task[_Token] | None = None
        #: Token requests sent (successful or not), for tests and diagnostics.
        self.fetches = 0

    def __repr__(self) -> str:  # never show the secret
        return f"ClientCredentialsAuth(token_url={self.token_url!r}, client_id={self._client_id!r})"

    async def aclose(self) -> None:
        if self._inflight is not None:
            self._inflight.cancel()
        await self._http.aclose()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("ClientCredentialsAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate(token)
            token = await self.token()
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (if it is still the cached one): the API refused it."""
        if self._token is not None and self._token.value == token:
            self._token = None

    async def token(self) -> str:
        """A valid access token: the cached one, or the outcome of the one refresh in flight."""
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current.value
        if self._inflight is None:
            task = asyncio.get_running_loop().create_task(self._refresh(current))
            task.add_done_callback(_consume_exception)
            self._inflight = task
        # shield: a caller cancelled by its own budget must not cancel the shared refresh
        return (await asyncio.shield(self._inflight)).value

    async def _refresh(self, previous: _Token | None) -> _Token:
        try:
            token = await self._fetch()
        except UpstreamUnavailable as exc:
            now = self._clock()
            if previous is None or now >= previous.expires_at:
                raise
            log.warning(
                "token refresh failed; current token still valid",
                extra={"upstream": self.upstream, "error": exc.message},
            )
            token = replace(
                previous, refresh_at=min(previous.expires_at, now + self._retry_after_error_s)
            )
        finally:
            self._inflight = None
        self._token = token
        return token

    async def _fetch(self) -> _Token:
        if not self._client_id or not self._client_secret:
            raise self._unavailable(
                "credentials are not configured (set GATEWAY_ROR_CLIENT_ID and "
                "GATEWAY_ROR_CLIENT_SECRET)"
            )
        self.fetches += 1
        sent_at = self._clock()
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        try:
            response = await self._http.post(
                self.token_url, data=form, headers={"Accept": "application/json"}
            )
        except httpx.TimeoutException:
            raise self._unavailable("did not answer in time") from None
        except httpx.HTTPError as exc:
            raise self._unavailable(f"unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise self._unavailable(_refusal(response))
        try:
            body = msgspec.json.decode(response.content, type=_TokenResponse)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise self._unavailable("sent an answer without a usable access_token") from None
        if body.token_type.lower() != "bearer" or not body.access_token:
            raise self._unavailable(f"sent an unsupported token type {body.token_type!r}")
        lifetime = max(1.0, body.expires_in)
        expires_at = sent_at + lifetime
        return _Token(body.access_token, expires_at - min(self._margin, lifetime / 2), expires_at)

    def _unavailable(self, reason: str) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            f"{self.upstream} token endpoint {reason}",
            upstream=self.upstream,
            details={"stage": "token"},
        )


def _refusal(response: httpx.Response) -> str:
    status = response.status_code
    try:
        error = msgspec.json.decode(response.content, type=_OAuthError).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        error = ""
    suffix = f" ({error})" if error else ""
    if status in (400, 401, 403):
        return (
            f"refused the client credentials: HTTP {status}{suffix}; check "
            "GATEWAY_ROR_CLIENT_ID and GATEWAY_ROR_CLIENT_SECRET"
        )
    return f"answered HTTP {status}{suffix}"


def _consume_exception(task: asyncio.Task[_Token]) -> None:
    # Every waiter may have been cancelled: retrieve the error so asyncio does not log it.
    if not task.cancelled():
        task.exception()
