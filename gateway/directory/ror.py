"""ROR FHIR API client: OAuth2 bearer token, the four ``Ror-*`` headers, optional mTLS.

``RorClient`` sits on ``gateway.upstream.UpstreamClient`` (timeouts, retries, breaker, rate
limit) with ``ClientCredentialsAuth`` as its ``httpx.Auth``. ``fetch_cpts_resources`` pages
through ``GET /Organization?type=<TRE_R66>|604&_revinclude=HealthcareService:organization``
with ``gateway.fhir.search_pages``: ``next`` links only (``Bundle.total`` is never relied
on), refusing links that leave the ROR origin (they would carry our bearer token elsewhere),
and failing on a loop or past ``MAX_PAGES`` rather than publishing a partial index.
``fetch_cpts_index`` turns the result into the same ``CptsIndex`` the offline loader builds.
"""

from __future__ import annotations

import logging
import ssl

import httpx

from gateway import fhir
from gateway.directory.cpts import CommunesOf, CptsIndex, build_cpts_index
from gateway.directory.ror_auth import ClientCredentialsAuth
from gateway.directory.ror_fhir import CPTS_CATEGORY, TRE_R66, FhirResource, decode_resources
from gateway.settings import RorSettings
from gateway.upstream import UpstreamClient
from gateway.upstream.tls import client_certificate_context

log = logging.getLogger("gateway.directory.ror")
#: Upper bound on pages followed in one search (100 CPTS a page: far above France's ~800).
MAX_PAGES = 500
#: Appended to the error for a 401/403 from the API (the token itself was accepted).
_REFUSAL_HINT = (
    "check the client credentials and the GATEWAY_ROR_PROFIL_UTILISATEUR_* / "
    "GATEWAY_ROR_ROLE_METIER_* headers"
)


def ror_headers(settings: RorSettings) -> dict[str, str]:
    """The ``Ror-Profil-Utilisateur-*`` / ``Ror-Role-Metier-*`` headers that are configured."""
    headers = {
        "Ror-Profil-Utilisateur-Code": settings.profile_code,
        "Ror-Profil-Utilisateur-System": settings.profile_system,
        "Ror-Role-Metier-Code": settings.role_code,
        "Ror-Role-Metier-System": settings.role_system,
    }
    return {name: value for name, value in headers.items() if value}


def mtls_context(settings: RorSettings) -> ssl.SSLContext | None:
    """An SSL context presenting the client certificate, or ``None`` when none is set."""
    if settings.client_cert is None:
        return None
    return client_certificate_context(
        settings.client_cert,
        settings.client_key,
        f"GATEWAY_ROR_CLIENT_CERT={str(settings.client_cert)!r} / GATEWAY_ROR_CLIENT_KEY="
        f"{str(settings.client_key or '')!r}",
    )


class RorClient:
    def __init__(
        self,
        settings: RorSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        token_transport: httpx.AsyncBaseTransport | None = None,
        auth: ClientCredentialsAuth | None = None,
        page_size: int = 100,
    ) -> None:
        self.settings = settings
        self.page_size = page_size
        tls = mtls_context(settings)
        upstream = settings.upstream
        self.auth = auth or ClientCredentialsAuth(
            settings.token_url,
            settings.client_id,
            settings.client_secret,
            upstream=upstream.name,
            transport=token_transport,
            verify=tls if tls is not None else True,
            timeout=httpx.Timeout(upstream.read_timeout_s, connect=upstream.connect_timeout_s),
        )
        if transport is None and tls is not None:
            transport = httpx.AsyncHTTPTransport(verify=tls)
        self.upstream = UpstreamClient(
            upstream,
            transport=transport,
            headers=ror_headers(settings),
            auth=self.auth,
            refusal_hint=_REFUSAL_HINT,
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()
        await self.auth.aclose()

    async def search_pages(self, path: str, params: dict[str, str]) -> list[bytes]:
        """Every page of a FHIR search, following ``next`` links until there is none.

        Any 4xx (a 404 included) is an error here: the CPTS search always exists."""
        pages = fhir.search_pages(
            self.upstream, path, params, max_pages=MAX_PAGES, absent=frozenset()
        )
        return [page.raw async for page in pages]

    async def cpts_pages(self) -> list[bytes]:
        """The raw search pages of every CPTS Organization with its HealthcareServices."""
        params = {
            "type": f"{TRE_R66}|{CPTS_CATEGORY}",
            "_revinclude": "HealthcareService:organization",
            "_count": str(self.page_size),
        }
        return await self.search_pages("/Organization", params)

    async def fetch_cpts_resources(self, problems: list[str]) -> list[FhirResource]:
        """Every CPTS Organization of the ROR with the HealthcareServices it provides.

        Resources that do not decode are skipped and described in ``problems``.
        """
        resources: list[FhirResource] = []
        for page in await self.cpts_pages():
            resources.extend(decode_resources(page, problems))
        return resources


async def fetch_cpts_index(
    client: RorClient,
    communes_of: CommunesOf,
    *,
    members_base_url: str | None = None,
) -> CptsIndex:
    """The CPTS index from the live ROR (same result as ``load_cpts_snapshot`` offline)."""
    problems: list[str] = []
    resources = await client.fetch_cpts_resources(problems)
    index = build_cpts_index(
        resources, communes_of, members_base_url=members_base_url, problems=problems
    )
    index.source = f"{client.settings.upstream.name}:{client.settings.upstream.url}"
    for problem in index.report.problems:
        log.warning("CPTS fetch problem", extra={"problem": problem})
    return index
