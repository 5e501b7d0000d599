"""What an upstream's answer means: one rule for every client's ``UpstreamClient.get_json``.

* a status the caller lists as ``absent`` (404 by default; the SMT adds 400/422, which
  Ontoserver answers for a canonical it cannot parse) → ``None``, a semantic negative;
* 401/403 → ``UpstreamUnavailable``: our credentials or headers were refused, which only
  configuration fixes, like the ROR token endpoint's refusals (``gateway.directory.ror_auth``);
* any other 4xx → ``UpstreamBadResponse``: the upstream refused this one request; it says
  nothing about the upstream's health, so the breaker is not told (the call itself
  succeeded);
* a body that does not decode into the expected type → ``UpstreamBadResponse``.

5xx, 429, timeouts and transport errors never get here: ``UpstreamClient._call`` retries
them and turns them into ``UpstreamUnavailable``, counted by the breaker.

Messages name the upstream, the status and the request *path*, never the query string nor
anything from the body: the geocoder's queries are patient addresses, and an upstream may
echo them back. That is also why msgspec's own message is not quoted (it may quote a
value); only the position of a shape error is (``$.features[0].score``: names and indexes).

``worth_sharing`` says which successful answers the replicas' shared tier may keep.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
import msgspec

from gateway.errors import UpstreamBadResponse, UpstreamError, UpstreamUnavailable

T = TypeVar("T")

#: The default ``absent`` statuses: "no such resource" is an answer, not a failure.
NOT_FOUND: frozenset[int] = frozenset({404})


@dataclass(frozen=True, slots=True)
class JsonAnswer(Generic[T]):
    """A decoded answer with what paging needs besides: the body as sent, and the URL it
    answered (after redirects), against which relative links resolve."""

    value: T
    content: bytes
    url: httpx.URL


def read_json(
    response: httpx.Response,
    type: type[T],
    absent: Collection[int],
    upstream: str,
    refusal_hint: str = "",
) -> JsonAnswer[T] | None:
    """``response`` decoded into ``type``, ``None`` when its status is ``absent``, or the
    ``UpstreamError`` the module docstring describes."""
    status = response.status_code
    if status in absent:
        return None
    if status >= 400:
        raise refusal(response, upstream, refusal_hint)
    where = response.request.url.path
    try:
        value = msgspec.json.decode(response.content, type=type)
    except msgspec.ValidationError as exc:
        _, at, position = str(exc).rpartition(" - at ")
        position = position if at else "$"
        raise UpstreamBadResponse(
            f"{upstream} answered {where} with JSON of an unexpected shape (at {position})",
            upstream=upstream,
        ) from None
    except msgspec.DecodeError:
        raise UpstreamBadResponse(
            f"{upstream} answered {where} with a body that is not valid JSON", upstream=upstream
        ) from None
    return JsonAnswer(value, response.content, response.request.url)


def refusal(response: httpx.Response, upstream: str, hint: str = "") -> UpstreamError:
    """The error for a 4xx that is not a semantic negative."""
    status = response.status_code
    where = response.request.url.path
    if status in (401, 403):
        suffix = f": {hint}" if hint else ""
        return UpstreamUnavailable(
            f"{upstream} refused access (HTTP {status}) to {where}{suffix}", upstream=upstream
        )
    return UpstreamBadResponse(f"{upstream} answered HTTP {status} to {where}", upstream=upstream)


def worth_sharing(body: bytes) -> bool:
    """A complete FHIR resource, and not an empty search (a "not found" other replicas
    must re-ask for after the short negative TTL, not the shared tier's)."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False  # truncated or not JSON: the caller rejects it, nobody shares it
    if not isinstance(decoded, dict) or "resourceType" not in decoded:
        return False
    return decoded["resourceType"] != "Bundle" or bool(decoded.get("entry"))
