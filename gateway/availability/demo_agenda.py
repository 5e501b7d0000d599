"""An in-process agenda source for the demo: the SAS psindiv slot search, without network.

``DemoAgenda`` is an ``httpx`` transport (give it to an ``UpstreamClient``) answering the
IG's psindiv query (``specifications_techniques-ps-recherche_creneaux``)::

    GET [base]/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor
        &start=ge<instant>&start=le<instant>&status=free
        &schedule.actor:Practitioner.identifier=<≤ 25 tokens urn:oid:1.2.250.1.71.4.2.1|8…>
        [&_count=<n>]

with a searchset Bundle shaped like the IG's ``ExampleBundlePSIndiv`` (Slot, then its
Schedule, Practitioner and PractitionerRole with the practice Location contained), paged
by ``next`` links (``_offset``) when more than ``_count`` slots match (an offset, as many
servers page: a slot starting between two page requests shifts the next page by one).
It also answers the IG's SOS search (``GET [base]/Schedule?_revinclude=Slot:schedule…``,
``gateway.availability.demo_sos``) for two fictitious SOS Médecins associations. Anything
else gets a 400 OperationOutcome, as a real server answers a search it cannot run.

The offer is invented but stable: slots sit on an absolute half-hour grid (07:00–20:00 UTC),
drawn per practitioner and per day from a seed of (IDNPS, date), so a slot keeps its id
and time from one refresh to the next and only leaves the answer once it has started,
which is what the refresher sees of a real agenda. About one practitioner in four never
has a free slot (a participant without availability is part of the demo too).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx

from gateway.availability.demo_resources import (
    HALF_HOUR,
    PROFILE,
    DemoSlot,
    actor_resources,
    entry,
    slot_resource,
    window_days,
)
from gateway.availability.demo_sos import sos_bundle_entries
from gateway.availability.slots import SlotPlace
from gateway.directory.identifiers import IDNPS_SYSTEM, IDNST_SYSTEM, idnps_in_token

PRACTITIONER_PARAM = "schedule.actor:Practitioner.identifier"
ASSOCIATION_PARAM = "actor:Location.organization.identifier"
#: The IG's psindiv search: its fixed parameters, as an agenda checks them.
PSINDIV_PARAMS = {
    "_include": ["Slot:schedule"],
    "_include:iterate": ["Schedule:actor"],
    "status": ["free"],
}
_SOS = {
    "_revinclude": ["Slot:schedule"],
    "_include": ["Schedule:actor:Location"],
    "_include:iterate": ["Location:organization"],
    "_has:Slot:schedule:status": ["free"],
}
#: The IG's cardinality of the practitioner parameter (1..25).
MAX_PRACTITIONERS = 25
DEFAULT_COUNT = 50
_FIRST, _LAST = 7 * 2, 20 * 2  # the grid, in half hours since midnight UTC
#: The demo's mix of slot types and consultation modes (the bench's stub agenda serves it too).
SLOT_TYPES = [
    ("PUBLIC",),
    ("PRO",),
    ("PUBLIC", "PRO"),
    ("SNP",),
    ("PRO", "SNP"),
    ("PUBLIC", "PRO", "SNP"),
]
SLOT_MODES = [("AMB",), ("AMB", "VR"), ("VR",), ("HH",), ("AMB",)]
_HEADERS = {"Content-Type": "application/fhir+json;charset=utf-8"}


class _BadQuery(Exception):
    pass


class DemoAgenda(httpx.AsyncBaseTransport):
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        places: Callable[[str], SlotPlace | None] | None = None,
    ) -> None:
        self._clock = clock
        #: The practice address of an IDNPS, put in the contained Location (None: no address).
        self._places = places or (lambda idnps: None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/Schedule"):
            return self._sos(request)
        try:
            window, practitioners, count, offset = _query(request)
        except _BadQuery as error:
            return _outcome(str(error))
        now = self._clock()
        low, high = max(window[0], now), window[1]
        matches = sorted(
            (s for idnps in practitioners for s in offer(idnps, low, high) if s.start > now),
            key=lambda s: (s.start, s.idnps),
        )
        page = matches[offset : offset + count]
        links = [{"relation": "self", "url": str(request.url)}]
        if offset + count < len(matches):
            following = request.url.copy_set_param("_offset", str(offset + count))
            links.append({"relation": "next", "url": str(following)})
        base = str(request.url.copy_with(query=None)).removesuffix("/Slot")
        body = {
            "resourceType": "Bundle",
            "meta": {"profile": [PROFILE + "BundleAgregateur"]},
            "type": "searchset",
            "total": len(matches),
            "link": links,
            "entry": self._entries(page, base),
        }
        return httpx.Response(200, content=json.dumps(body).encode(), headers=_HEADERS)

    def _sos(self, request: httpx.Request) -> httpx.Response:
        try:
            window, associations = _sos_query(request)
        except _BadQuery as error:
            return _outcome(str(error))
        now = self._clock()
        base = str(request.url.copy_with(query=None)).removesuffix("/Schedule")
        total, entries = sos_bundle_entries(associations, max(window[0], now), window[1], now, base)
        body = {
            "resourceType": "Bundle",
            "meta": {"profile": [PROFILE + "BundleAgregateurSOS"]},
            "type": "searchset",
            "total": total,
            "link": [{"relation": "self", "url": str(request.url)}],
            "entry": entries,
        }
        return httpx.Response(200, content=json.dumps(body).encode(), headers=_HEADERS)

    def _entries(self, page: list[DemoSlot], base: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        included: set[str] = set()
        for slot in page:
            entries.append(entry(base, slot_resource(slot), "match"))
            if slot.idnps not in included:  # the example's order: each actor after its first slot
                included.add(slot.idnps)
                for resource in actor_resources(slot.idnps, self._places(slot.idnps)):
                    entries.append(entry(base, resource, "include"))
        return entries


def offer(idnps: str, low: float, high: float) -> list[DemoSlot]:
    """The practitioner's free slots starting in ``[low, high]`` (deterministic)."""
    if random.Random(f"demo-agenda|{idnps}").random() < 0.25:
        return []
    out: list[DemoSlot] = []
    for day, midnight in window_days(low, high):
        out.extend(s for s in _day(idnps, day, midnight) if low <= s.start <= high)
    return out


def _day(idnps: str, day: date, midnight: int) -> list[DemoSlot]:
    rng = random.Random(f"demo-agenda|{idnps}|{day.isoformat()}")
    halves = sorted(rng.sample(range(_FIRST, _LAST), rng.randint(1, 4)))
    return [
        DemoSlot(
            idnps=idnps,
            start=midnight + half * HALF_HOUR,
            types=rng.choice(SLOT_TYPES),
            modes=rng.choice(SLOT_MODES),
            walk_in=rng.random() < 0.125,
        )
        for half in halves
    ]


def _query(request: httpx.Request) -> tuple[tuple[float, float], list[str], int, int]:
    if request.method != "GET" or not request.url.path.endswith("/Slot"):
        raise _BadQuery(f"{request.method} {request.url.path} is not a search this agenda runs")
    params: dict[str, list[str]] = {}
    for key, value in request.url.params.multi_items():
        params.setdefault(key, []).append(value)
    known = {*PSINDIV_PARAMS, "start", PRACTITIONER_PARAM, "_count", "_offset"}
    if unknown := sorted(set(params) - known):
        raise _BadQuery(f"unsupported search parameter(s): {', '.join(unknown)}")
    for key, values in PSINDIV_PARAMS.items():
        if sorted(params.get(key, [])) != values:
            raise _BadQuery(f"{key} must be {','.join(values)}")
    bounds = {value[:2]: value[2:] for value in params.get("start", [])}
    if len(params.get("start", [])) != 2 or set(bounds) != {"ge", "le"}:
        raise _BadQuery("start must be given twice: start=ge<instant>&start=le<instant>")
    window = (_instant(bounds["ge"]), _instant(bounds["le"]))
    tokens = [t.strip() for v in params.get(PRACTITIONER_PARAM, []) for t in v.split(",")]
    practitioners = [idnps_in_token(t) for t in tokens if t]
    if not practitioners or len(practitioners) > MAX_PRACTITIONERS:
        raise _BadQuery(f"{PRACTITIONER_PARAM} takes 1 to {MAX_PRACTITIONERS} tokens")
    if None in practitioners:
        raise _BadQuery(f"{PRACTITIONER_PARAM} takes tokens {IDNPS_SYSTEM}|8 + 11 digits")
    count = _number(params, "_count", DEFAULT_COUNT, 1)
    # A practitioner asked twice is answered once.
    return (
        window,
        list(dict.fromkeys(p for p in practitioners if p)),
        count,
        _number(params, "_offset", 0, 0),
    )


def _sos_query(request: httpx.Request) -> tuple[tuple[float, float], list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.url.params.multi_items():
        params.setdefault(key, []).append(value)
    starts = params.pop("_has:Slot:schedule:start", [])
    tokens = [t.strip() for v in params.pop(ASSOCIATION_PARAM, []) for t in v.split(",")]
    params.pop("_count", None)
    if {k: sorted(v) for k, v in params.items()} != _SOS:
        raise _BadQuery("not the SAS IG's SOS search (Schedule, _revinclude Slot:schedule…)")
    bounds = {value[:2]: value[2:] for value in starts}
    if len(starts) != 2 or set(bounds) != {"ge", "le"}:
        raise _BadQuery("_has:Slot:schedule:start must be given twice: ge<instant>, le<instant>")
    values = [t.partition("|") for t in tokens if t]
    if not values or len(values) > MAX_PRACTITIONERS:
        raise _BadQuery(f"{ASSOCIATION_PARAM} takes 1 to {MAX_PRACTITIONERS} tokens")
    if any(system != IDNST_SYSTEM or not sep for system, sep, _ in values):
        raise _BadQuery(f"{ASSOCIATION_PARAM} takes tokens {IDNST_SYSTEM}|3 + SIRET")
    return (_instant(bounds["ge"]), _instant(bounds["le"])), [v for _, _, v in values]


def _instant(text: str) -> float:
    # A "+" written unencoded in a query string arrives as a space.
    text = text.replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _BadQuery(f"start: '{text}' is not a dateTime") from None
    if "T" not in text:
        raise _BadQuery(f"start: '{text}' is a date; a dateTime is expected")
    # FHIR reads a zoneless search dateTime in the server's zone; this server's is UTC.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _number(params: dict[str, list[str]], key: str, default: int, minimum: int) -> int:
    values = params.get(key, [])
    if not values:
        return default
    if len(values) > 1 or not values[0].isdigit() or int(values[0]) < minimum:
        raise _BadQuery(f"{key} must be one integer ≥ {minimum}")
    return int(values[0])


def _outcome(diagnostics: str) -> httpx.Response:
    issue = {"severity": "error", "code": "invalid", "diagnostics": diagnostics}
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return httpx.Response(400, content=json.dumps(body).encode(), headers=_HEADERS)
