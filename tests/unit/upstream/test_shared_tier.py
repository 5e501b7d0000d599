"""The upstream client over the shared tier: what is shared, and what never is.

The tier is an in-memory stand-in with ``SharedCache``'s interface (the real Redis one is
exercised by tests/integration/test_scale_out.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import httpx
import respx

from gateway.cache.shared import SharedCache
from gateway.settings import UpstreamSettings
from gateway.upstream.client import UpstreamClient

BASE = "https://smt.test/fhir"
FHIR = {"Content-Type": "application/fhir+json"}
FULL = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"id": "x"}}]}
EMPTY = {"resourceType": "Bundle", "type": "searchset"}


class MemoryTier:
    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    def key(self, upstream: str, url: str, params: Mapping[str, str] | None) -> str:
        return f"{upstream}|{url}|{sorted((params or {}).items())}"

    async def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self.values[key] = value


def client_with(tier: MemoryTier, router: respx.MockRouter) -> UpstreamClient:
    settings = UpstreamSettings(name="smt", url=BASE, retries=0, rate_per_s=1000.0)
    transport = httpx.MockTransport(router.async_handler)
    return UpstreamClient(settings, transport=transport, shared=cast(SharedCache, tier))


async def test_a_complete_answer_is_shared_and_served_without_a_call() -> None:
    tier, router = MemoryTier(), respx.MockRouter(base_url=BASE)
    route = router.get("/CodeSystem").mock(
        return_value=httpx.Response(200, json=FULL, headers=FHIR)
    )
    first, second = client_with(tier, router), client_with(tier, router)  # two replicas
    await first.get("/CodeSystem", params={"url": "u"})
    answer = await second.get("/CodeSystem", params={"url": "u"})
    assert route.call_count == 1
    assert answer.json() == FULL
    await first.aclose()
    await second.aclose()


async def test_truncated_answers_and_empty_searches_are_never_shared() -> None:
    tier, router = MemoryTier(), respx.MockRouter(base_url=BASE)
    answers: list[Any] = [
        httpx.Response(200, content=b'{"resourceType":"Bundle","entry":[{"reso', headers=FHIR),
        httpx.Response(200, json=EMPTY, headers=FHIR),
        httpx.Response(200, json=FULL, headers=FHIR),
    ]
    route = router.get("/CodeSystem").mock(side_effect=answers)
    client = client_with(tier, router)
    for _ in range(4):
        await client.get("/CodeSystem", params={"url": "u"})
    assert route.call_count == 3  # the 4th came from the tier, holding the complete answer
    assert list(tier.values.values()) == [httpx.Response(200, json=FULL).content]
    await client.aclose()
