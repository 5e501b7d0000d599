"""``search_pages``: every page of a FHIR search, with one paging rule for every client.

The Annuaire Santé and ROR clients page through searches with it (the SMT's ``$expand``
pages by ``offset`` inside a ValueSet, not by Bundle links, and keeps its own loop). The rule:

* only ``next`` links are followed; ``Bundle.total`` is never read (often absent, and a
  page count is not a promise);
* a ``next`` link to another origin is refused: the request would carry our API key or
  bearer token to a host we never chose;
* a ``next`` link to a page already fetched (a loop), or a ``next`` link still present after
  ``max_pages`` pages, raises ``UpstreamBadResponse``. Both used to differ between clients
  (the Annuaire stopped quietly and kept what it had, the ROR raised); raising wins because
  every caller takes the result as complete: the CPTS index replaces the previous one, and
  a name counts as identified only when *all* its strong matches are one RPPS, so a
  quietly cut result would be served as the truth (a CPTS index missing its tail, a false
  identification). An error keeps the previous index or the stale cached copy instead. The
  ROR tests already required the raise on a loop; no test required the quiet stop;
* an ``absent`` status (e.g. 404) on the first request is an empty search; on a later page
  it raises too, for the same reason (the result would be incomplete);
* a page that is not a Bundle raises.

Other statuses and undecodable pages are ``get_json``'s rule (``gateway.upstream.answers``).
Pages are yielded as they come, but an error may still follow: callers that need the
whole result collect it first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx

from gateway.errors import UpstreamBadResponse
from gateway.fhir.bundle import Bundle
from gateway.upstream.answers import JsonAnswer

T = TypeVar("T")


class JsonSource(Protocol):
    """What paging needs of an upstream (``gateway.upstream.UpstreamClient`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def base_url(self) -> httpx.URL: ...

    async def fetch_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        type: type[T],
        absent: Collection[int] = ...,
    ) -> JsonAnswer[T] | None: ...


class TooManyPages(UpstreamBadResponse):
    """More pages than the caller allowed: what was read is a prefix of the result (a
    caller that can use a partial answer, marked as such, catches this one)."""


@dataclass(frozen=True, slots=True)
class SearchPage:
    #: The page as the upstream sent it (``gateway sync`` writes it into the snapshot).
    raw: bytes
    bundle: Bundle
    url: httpx.URL


async def search_pages(
    source: JsonSource,
    path: str,
    params: Mapping[str, str],
    *,
    max_pages: int,
    absent: Collection[int] = frozenset(),
) -> AsyncIterator[SearchPage]:
    """Every page of ``GET path?params``, following ``next`` links (see the module rules)."""
    origin = source.base_url
    seen: set[str] = set()
    url: str = path
    query: Mapping[str, str] | None = params
    count = 0
    while True:
        answer = await source.fetch_json(url, query, type=Bundle, absent=absent)
        if answer is None:
            if count:
                raise _bad(source, f"answered page {count + 1} of a search as not found")
            return
        bundle = answer.value
        if bundle.resource_type != "Bundle":
            raise _bad(source, f"answered a {bundle.resource_type or 'non-FHIR'} to a search")
        count += 1
        seen.add(str(answer.url))
        yield SearchPage(answer.content, bundle, answer.url)
        link = bundle.next_url()
        if link is None:
            return
        following = answer.url.join(link)
        if (following.scheme, following.host, following.port) != (
            origin.scheme,
            origin.host,
            origin.port,
        ):
            raise _bad(source, f"sent a next link outside {origin.host}; not followed")
        if str(following) in seen:
            raise _bad(source, "sent a next link that loops; stopped")
        if count >= max_pages:
            raise TooManyPages(
                f"{source.name} has more than {max_pages} result pages; stopped",
                upstream=source.name,
            )
        url, query = str(following), None  # a next link carries its own query string


def _bad(source: JsonSource, reason: str) -> UpstreamBadResponse:
    return UpstreamBadResponse(f"{source.name} {reason}", upstream=source.name)
