"""ROR OAuth2 client credentials: token cache, early refresh, single flight, failures, headers.

Both the token endpoint and the ROR API are a respx router plugged in as an
``httpx.MockTransport``: nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from gateway.directory.ror import RorClient, mtls_context
from gateway.directory.ror_auth import ClientCredentialsAuth
from gateway.errors import UpstreamUnavailable
from gateway.settings import ConfigError, RorSettings, UpstreamSettings
from tests.unit.directory import FHIR_HEADERS, ROR_URL, TOKEN_URL, searchset

RorFactory = Callable[..., RorClient]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ror_settings(**overrides: Any) -> RorSettings:
    options: dict[str, Any] = {
        "token_url": TOKEN_URL,
        "client_id": "sas-gateway",
        "client_secret": "s3cret",
        "profile_code": "PROFIL-X",
        "profile_system": "https://profil.test/cs",
        "role_code": "ROLE-Y",
        "role_system": "https://role.test/cs",
        **overrides,
    }
    upstream = UpstreamSettings(
        name="ror",
        url=ROR_URL,
        connect_timeout_s=0.2,
        read_timeout_s=0.5,
        budget_s=2.0,
        retries=1,
        breaker_failures=1000,
        rate_per_s=1000.0,
    )
    return RorSettings(upstream, **options)


def token_answer(value: str, expires_in: int = 300) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": value, "token_type": "Bearer", "expires_in": expires_in}
    )


class Tokens:
    """Token endpoint side effect: ``tok-1``, ``tok-2``… optionally slow."""

    def __init__(self, delay_s: float = 0.0, expires_in: int = 300) -> None:
        self.delay_s = delay_s
        self.expires_in = expires_in
        self.issued = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.issued += 1
        return token_answer(f"tok-{self.issued}", self.expires_in)


@pytest.fixture
def router() -> respx.MockRouter:
    router = respx.MockRouter(assert_all_called=False)
    router.get(f"{ROR_URL}/Organization").mock(
        return_value=httpx.Response(200, json=searchset(), headers=FHIR_HEADERS)
    )
    return router


@pytest.fixture
async def make_ror(router: respx.MockRouter) -> AsyncIterator[RorFactory]:
    clients: list[RorClient] = []
    transport = httpx.MockTransport(router.async_handler)

    def make(clock: FakeClock | None = None, **settings: Any) -> RorClient:
        config = ror_settings(**settings)
        auth = None
        if clock is not None:
            auth = ClientCredentialsAuth(
                config.token_url,
                config.client_id,
                config.client_secret,
                transport=transport,
                refresh_margin_s=60.0,
                retry_after_error_s=5.0,
                clock=clock,
            )
        client = RorClient(config, transport=transport, token_transport=transport, auth=auth)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def bearer(route: respx.Route) -> list[str]:
    return [call.request.headers.get("Authorization", "") for call in route.calls]


async def test_token_is_fetched_once_and_reused(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=Tokens())
    ror = make_ror()
    for _ in range(3):
        await ror.upstream.get("/Organization")
    assert token.call_count == 1
    form = parse_qs(token.calls.last.request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["sas-gateway"],
        "client_secret": ["s3cret"],
    }
    assert bearer(router.routes[0]) == ["Bearer tok-1"] * 3


async def test_four_ror_headers_are_sent_on_api_calls_only(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=Tokens())
    await make_ror().upstream.get("/Organization")
    sent = router.routes[0].calls.last.request.headers
    assert sent["Ror-Profil-Utilisateur-Code"] == "PROFIL-X"
    assert sent["Ror-Profil-Utilisateur-System"] == "https://profil.test/cs"
    assert sent["Ror-Role-Metier-Code"] == "ROLE-Y"
    assert sent["Ror-Role-Metier-System"] == "https://role.test/cs"
    assert "Ror-Role-Metier-Code" not in token.calls.last.request.headers


async def test_unset_ror_headers_are_not_sent_empty(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    router.post(TOKEN_URL).mock(side_effect=Tokens())
    await make_ror(role_code="", role_system="").upstream.get("/Organization")
    sent = router.routes[0].calls.last.request.headers
    assert "Ror-Role-Metier-Code" not in sent
    assert sent["Ror-Profil-Utilisateur-Code"] == "PROFIL-X"


async def test_token_is_refreshed_before_it_expires(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=Tokens(expires_in=300))
    clock = FakeClock()
    ror = make_ror(clock)
    await ror.upstream.get("/Organization")
    clock.now += 239  # 61 s left: more than the 60 s margin
    await ror.upstream.get("/Organization")
    assert token.call_count == 1
    clock.now += 2  # 59 s left: refreshed although still valid
    await ror.upstream.get("/Organization")
    assert token.call_count == 2
    assert bearer(router.routes[0]) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_fifty_concurrent_requests_share_one_token_request(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=Tokens(delay_s=0.05))
    clock = FakeClock()
    ror = make_ror(clock)
    await asyncio.gather(*(ror.upstream.get("/Organization") for _ in range(50)))
    assert token.call_count == 1
    assert set(bearer(router.routes[0])) == {"Bearer tok-1"}
    clock.now += 250  # inside the refresh margin: again exactly one refresh for 50 callers
    await asyncio.gather(*(ror.upstream.get("/Organization") for _ in range(50)))
    assert token.call_count == 2
    assert bearer(router.routes[0])[50:] == ["Bearer tok-2"] * 50


async def test_concurrent_callers_share_one_failed_token_request(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    async def slow_failure(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(500)

    token = router.post(TOKEN_URL).mock(side_effect=slow_failure)
    ror = make_ror()
    outcomes = await asyncio.gather(
        *(ror.upstream.get("/Organization") for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(o, UpstreamUnavailable) for o in outcomes)
    assert token.call_count == 1
    assert router.routes[0].call_count == 0


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.Response(500, json={"error": "server_error"}), "answered HTTP 500 (server_error)"),
        (httpx.ReadTimeout("slow"), "did not answer in time"),
        (httpx.ConnectError("refused"), "unreachable: ConnectError"),
        (
            httpx.Response(200, text="<html>login</html>"),
            "sent an answer without a usable access_token",
        ),
    ],
)
async def test_token_failure_is_unavailable_and_not_cached(
    router: respx.MockRouter, make_ror: RorFactory, failure: Any, reason: str
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=[failure, token_answer("tok-ok")])
    ror = make_ror()
    with pytest.raises(UpstreamUnavailable) as raised:
        await ror.upstream.get("/Organization")
    assert raised.value.message == f"ror token endpoint {reason}"
    assert raised.value.details == {"upstream": "ror", "stage": "token"}
    assert router.routes[0].call_count == 0  # the API was not called without a token
    await ror.upstream.get("/Organization")  # the failure was not remembered
    assert token.call_count == 2
    assert bearer(router.routes[0]) == ["Bearer tok-ok"]


async def test_refused_credentials_name_the_variables(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    router.post(TOKEN_URL).mock(return_value=httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(UpstreamUnavailable, match="GATEWAY_ROR_CLIENT_ID") as raised:
        await make_ror().upstream.get("/Organization")
    assert "invalid_client" in raised.value.message
    assert "s3cret" not in raised.value.message


async def test_missing_credentials_never_call_the_token_endpoint(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=Tokens())
    with pytest.raises(UpstreamUnavailable, match="GATEWAY_ROR_CLIENT_SECRET"):
        await make_ror(client_secret="").upstream.get("/Organization")
    assert token.call_count == 0


async def test_failed_early_refresh_keeps_the_valid_token(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(
        side_effect=[token_answer("tok-1"), httpx.Response(503), token_answer("tok-2")]
    )
    clock = FakeClock()
    ror = make_ror(clock)
    await ror.upstream.get("/Organization")
    clock.now += 250  # in the refresh margin; the refresh fails but tok-1 is valid 50 s more
    await ror.upstream.get("/Organization")
    clock.now += 1  # within retry_after_error_s: no new attempt
    await ror.upstream.get("/Organization")
    assert token.call_count == 2
    clock.now += 5
    await ror.upstream.get("/Organization")
    assert token.call_count == 3
    assert bearer(router.routes[0]) == ["Bearer tok-1"] * 3 + ["Bearer tok-2"]


async def test_expired_token_with_failing_endpoint_is_unavailable(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    router.post(TOKEN_URL).mock(side_effect=[token_answer("tok-1"), httpx.Response(503)])
    clock = FakeClock()
    ror = make_ror(clock)
    await ror.upstream.get("/Organization")
    clock.now += 301
    with pytest.raises(UpstreamUnavailable, match="token endpoint answered HTTP 503"):
        await ror.upstream.get("/Organization")


async def test_api_401_drops_the_token_and_replays_once(
    router: respx.MockRouter, make_ror: RorFactory
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=Tokens())
    seen: list[str] = []  # read at send time: httpx reuses the request object for the replay

    def revoked_then_ok(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if len(seen) == 1:
            return httpx.Response(401)
        return httpx.Response(200, json=searchset(), headers=FHIR_HEADERS)

    router.get(f"{ROR_URL}/HealthcareService").mock(side_effect=revoked_then_ok)
    response = await make_ror().upstream.get("/HealthcareService")
    assert response.status_code == 200
    assert token.call_count == 2
    assert seen == ["Bearer tok-1", "Bearer tok-2"]


def test_repr_never_shows_the_secret() -> None:
    auth = ClientCredentialsAuth(TOKEN_URL, "sas-gateway", "s3cret")
    assert "s3cret" not in repr(auth)


def test_unreadable_client_certificate_is_a_config_error(tmp_path: Path) -> None:
    settings = ror_settings(client_cert=tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="GATEWAY_ROR_CLIENT_CERT"):
        mtls_context(settings)


def test_no_client_certificate_means_no_mtls() -> None:
    assert mtls_context(ror_settings()) is None


@pytest.fixture
def client_cert(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = ["-subj", "/CN=sas-gateway-test", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subject],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_client_certificate_is_loaded(client_cert: tuple[Path, Path]) -> None:
    cert, key = client_cert
    settings = ror_settings(client_cert=cert, client_key=key)
    assert isinstance(mtls_context(settings), ssl.SSLContext)
    client = RorClient(settings)  # builds its own mTLS transport
    await client.aclose()
