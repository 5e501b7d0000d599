"""Stub agenda sources for ``bench.availability``: psindiv FHIR servers in their own process.

    python -m bench._agenda_stub --snapshot DIR --sources 3 [--page-size 200] [--slots 10]

Starts ``--sources`` ``ThreadingHTTPServer``s (HTTP/1.1 keep-alive, daemon threads, as in
``bench._stubs``) on free loopback ports, prints one JSON line ``{"urls": {name: base}}``
on stdout, then serves until stdin is closed (the bench holds the other end) or SIGTERM.
Each answers the SAS IG psindiv slot search exactly as the gateway sends it
(``gateway.availability.reader``; any other query gets a 400 OperationOutcome and is
counted as ``bad``)::

    GET /fhir/Slot?_include=Slot:schedule&_include:iterate=Schedule:actor&start=ge…
        &start=le…&schedule.actor:Practitioner.identifier=<1-25 tokens>&status=free

with searchset Bundles shaped like the IG's ExampleBundlePSIndiv (the resources of
``gateway.availability.demo_resources``, as the demo agenda answers): each practitioner has
``--slots`` free slots on a half-hour grid from about one hour after the stub started, over
44 hours (inside a 72-hour window); the practice Location contained in the PractitionerRole
carries the postcode and city of the practitioner's first location in the snapshot. Matches
are sorted by (start, IDNPS) and paged by ``--page-size`` slots, chained by ``next`` links
(``_offset``). Every answer waits 5-20 ms (network and server time).

Control (the bench's, not FHIR): ``POST /_bench/offer?mode=empty|full`` (``empty``: every
search answers an empty Bundle, the stubs' starting mode) and ``GET /_bench/stats`` (calls,
pages with slots, slots sent, bad queries, first and last call as wall-clock instants).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
import numpy as np

from gateway.availability.demo_agenda import (
    MAX_PRACTITIONERS,
    PRACTITIONER_PARAM,
    PSINDIV_PARAMS,
    SLOT_MODES,
    SLOT_TYPES,
)
from gateway.availability.demo_resources import (
    HALF_HOUR,
    PROFILE,
    DemoSlot,
    actor_resources,
    entry,
    slot_resource,
)
from gateway.availability.slots import SlotPlace
from gateway.directory.identifiers import idnps_in_token
from gateway.directory.locations_file import LOCATIONS_FILE, load_columns
from gateway.geo.communes import load_communes

PREFIX = "/fhir"
FHIR_JSON = "application/fhir+json;charset=utf-8"
KNOWN = {*PSINDIV_PARAMS, "start", PRACTITIONER_PARAM, "_offset"}
#: Slot ``k`` of a practitioner starts ``SPACING * k`` half hours after their first.
SPACING = 9


def places(snapshot: Path) -> dict[str, SlotPlace]:
    """IDNPS -> the postcode and city of their first location (ordinal 0) in the snapshot."""
    columns, _ = load_columns(snapshot / "directory" / LOCATIONS_FILE)
    communes, out = load_communes(), {}
    first = np.flatnonzero(columns["ordinal"] == 0)
    for idnps, insee in zip(columns["idnps"][first], columns["insee"][first], strict=True):
        commune = communes.by_insee(bytes(insee).decode())
        if commune is not None and commune.postcodes:
            city = communes.city_of(commune).name.upper()
            out[str(idnps)] = SlotPlace("", commune.postcodes[0], city)
    return out


class Offer:
    """The slots every stub serves: ``per`` per practitioner from ``first`` (epoch s)."""

    def __init__(self, snapshot: Path, per: int, page_size: int) -> None:
        self.places, self.per, self.page_size = places(snapshot), per, page_size
        self.first = (int(time.time()) // HALF_HOUR + 2) * HALF_HOUR  # 30-60 min from now

    def slots(self, idnps: str) -> list[DemoSlot]:
        seed = zlib.crc32(idnps.encode())
        start = self.first + (seed % SPACING) * HALF_HOUR
        return [
            DemoSlot(
                idnps=idnps,
                start=start + k * SPACING * HALF_HOUR,
                types=SLOT_TYPES[(seed + k) % len(SLOT_TYPES)],
                modes=SLOT_MODES[(seed >> 4) % len(SLOT_MODES)],
                walk_in=(seed >> 8) % 8 == k % 8,
            )
            for k in range(self.per)
        ]


class AgendaStub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, offer: Offer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name, self.offer, self.full = name, offer, False
        self.lock = threading.Lock()
        self.stats: dict[str, Any] = dict.fromkeys(("calls", "pages", "slots", "bad"), 0)
        self.stats |= {"first_call": None, "last_call": None}
        self.url = f"http://127.0.0.1:{self.server_address[1]}{PREFIX}"

    def count(self, slots: int, bad: bool) -> None:
        with self.lock:
            now, s = time.time(), self.stats
            s["calls"] += 1
            s["pages"] += slots > 0
            s["slots"] += slots
            s["bad"] += bad
            s["first_call"] = s["first_call"] or now
            s["last_call"] = now

    def search(self, url: str, params: Mapping[str, list[str]]) -> tuple[int, dict[str, Any], int]:
        """(status, body, slots in the page) of one psindiv search."""
        problem = _problem(params)
        if problem is not None:
            issue = {"severity": "error", "code": "invalid", "diagnostics": problem}
            return 400, {"resourceType": "OperationOutcome", "issue": [issue]}, 0
        bounds = {v[:2]: _instant(v[2:]) for v in params["start"]}
        tokens = [t for v in params[PRACTITIONER_PARAM] for t in v.split(",")]
        asked = dict.fromkeys(i for t in tokens if (i := idnps_in_token(t)))
        matches: list[DemoSlot] = []
        if self.full:
            low, high = bounds["ge"], bounds["le"]
            matches = [s for i in asked for s in self.offer.slots(i) if low <= s.start <= high]
            matches.sort(key=lambda s: (s.start, s.idnps))
        offset, size = int(params.get("_offset", ["0"])[0]), self.offer.page_size
        page = matches[offset : offset + size]
        links = [{"relation": "self", "url": url}]
        if offset + size < len(matches):
            pairs = [(k, v) for k, values in params.items() if k != "_offset" for v in values]
            following = f"{self.url}/Slot?{urlencode([*pairs, ('_offset', offset + size)])}"
            links.append({"relation": "next", "url": following})
        entries: list[dict[str, Any]] = []
        included: set[str] = set()
        for slot in page:
            entries.append(entry(self.url, slot_resource(slot), "match"))
            if slot.idnps not in included:  # each actor after its first slot, as the IG's
                included.add(slot.idnps)
                actors = actor_resources(slot.idnps, self.offer.places.get(slot.idnps))
                entries += [entry(self.url, r, "include") for r in actors]
        body: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        body |= {"meta": {"profile": [PROFILE + "BundleAgregateur"]}, "total": len(matches)}
        body |= {"link": links, "entry": entries}
        return 200, body, len(page)


def _problem(params: Mapping[str, list[str]]) -> str | None:
    """Why the gateway's query is not the IG's psindiv search (None: it is)."""
    if unknown := sorted(set(params) - KNOWN):
        return f"unsupported search parameter(s): {', '.join(unknown)}"
    for key, values in PSINDIV_PARAMS.items():
        if sorted(params.get(key, [])) != values:
            return f"{key} must be {','.join(values)}"
    starts = params.get("start", [])
    if len(starts) != 2 or {v[:2] for v in starts} != {"ge", "le"}:
        return "start must be given twice: start=ge<instant>&start=le<instant>"
    try:
        for value in starts:
            _instant(value[2:])
    except ValueError:
        return "start must hold dateTimes with a zone"
    tokens = [t for v in params.get(PRACTITIONER_PARAM, []) for t in v.split(",")]
    if not 1 <= len(tokens) <= MAX_PRACTITIONERS or any(idnps_in_token(t) is None for t in tokens):
        return f"{PRACTITIONER_PARAM} takes 1 to {MAX_PRACTITIONERS} IDNPS tokens"
    offset = params.get("_offset", ["0"])
    if len(offset) != 1 or not offset[0].isdigit():
        return "_offset must be one integer"
    return None


def _instant(text: str) -> float:
    """Epoch seconds of a search dateTime (a zone is required: the window is the gateway's
    "now", in UTC); ``ValueError`` otherwise."""
    value = datetime.fromisoformat(text.replace(" ", "+"))  # "+" unencoded arrives as " "
    if value.tzinfo is None:
        raise ValueError(text)
    return value.timestamp()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    server: AgendaStub

    def _send(self, status: int, body: object, media_type: str = FHIR_JSON) -> None:
        data = msgspec.json.encode(body)
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_bench/stats":
            with self.server.lock:
                return self._send(200, dict(self.server.stats), "application/json")
        if url.path != f"{PREFIX}/Slot":
            self.server.count(0, bad=True)
            return self._send(404, {"resourceType": "OperationOutcome", "issue": []})
        time.sleep(random.uniform(0.005, 0.020))
        params: dict[str, list[str]] = {}
        for key, value in parse_qsl(url.query, keep_blank_values=True):
            params.setdefault(key, []).append(value)
        status, body, slots = self.server.search(f"{self.server.url}/Slot?{url.query}", params)
        self.server.count(slots, bad=status != 200)
        self._send(status, body)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        mode = dict(parse_qsl(url.query)).get("mode")
        if url.path != "/_bench/offer" or mode not in ("empty", "full"):
            return self._send(404, {"error": "POST /_bench/offer?mode=empty|full"})
        self.server.full = mode == "full"
        self._send(200, {"mode": mode}, "application/json")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._agenda_stub")
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--slots", type=int, default=10, help="free slots per practitioner")
    parser.add_argument("--page-size", type=int, default=200, help="slots per Bundle page")
    args = parser.parse_args(argv)
    offer = Offer(args.snapshot, args.slots, args.page_size)
    stubs = [AgendaStub(f"agenda-{chr(ord('a') + i)}", offer) for i in range(args.sources)]
    for stub in stubs:
        threading.Thread(target=stub.serve_forever, name=stub.name, daemon=True).start()
    print(json.dumps({"urls": {s.name: s.url for s in stubs}}), flush=True)
    sys.stdin.read()  # until the bench closes it (or dies)
    for stub in stubs:
        stub.shutdown()
        stub.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
