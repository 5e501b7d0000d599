"""Patient data never leaves the request: no log line, no metric, no file (DESIGN §6).

Every patient-facing route is driven with an unmistakable patient address (street number,
street name, city, INSEE code), a patient's name put by mistake in the free-text fields,
and a patient's location (lat/lon), with the geocoder enabled (respx: good answers echoing
the query as BAN does, upstream errors, garbage, timeouts) and offline. Then:

* every log line (the production JSON stream at DEBUG, the access log, and every raw
  ``logging`` record reaching the root logger, ``gateway``/``stamina``/``litestar``
  included), stdout/stderr and warnings hold none of it;
* ``/metrics`` (and the process-wide Prometheus registry), ``/health/ready`` and
  ``/admin/cache/stats`` hold none of it;
* the service opens no file for writing (a ``sys.addaudithook`` watcher), writes nothing
  in its working directory, and no file created or modified meanwhile in the repository or
  the temporary directory holds any of it;
* error messages (4xx/5xx bodies, ``errors``/``diagnostics`` messages) never echo it.

Answers may echo the address back: that is the caller's own data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import re
import stat
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from prometheus_client import REGISTRY, generate_latest

from gateway.component import Transports
from gateway.geo.component import GeoComponent
from gateway.geo.geocoder import GeocoderClient
from gateway.settings import Settings, UpstreamSettings
from tests.conftest import ROOT, AppClient, make_client, offline_settings

# The patient. The INSEE code alone is a public commune; with the street it is an address.
STREET_NUMBER = "4242"
STREET = "Rue Zorglubova-Marqueur"
CITY = "Villezorglub"
INSEE = "92036"
PATIENT = "Zorglub Patientmarqueur"
# Where the patient is (sent by the front end to /v1/search and /v1/rank) and where the
# mocked geocoder places the address.
LAT, LON = "48.812345678", "2.376543219"
GEO_LAT, GEO_LON = "48.923456789", "2.398765432"

FREE_TEXT = f"{STREET_NUMBER} {STREET} {CITY} {PATIENT}"
FREE_TEXT_IN_COMMUNE = f"{STREET_NUMBER} {STREET} 92230 Gennevilliers {PATIENT}"
ORIGIN = "TEST-SAMU000"

_FORBIDDEN = tuple(
    text.casefold()
    for text in (
        "Zorglub",
        "Patientmarqueur",
        "Marqueur",
        *(LAT, LON, GEO_LAT, GEO_LON),
        *(f"{float(v):.6f}" for v in (LAT, LON, GEO_LAT, GEO_LON)),  # rounded
        *(v[: v.index(".") + 7] for v in (LAT, LON, GEO_LAT, GEO_LON)),  # truncated
    )
)
_NUMBER = re.compile(rf"(?<![\w.]){STREET_NUMBER}(?![\w.])")


def leaks(text: str, *, bare_number: bool = True) -> list[str]:
    """The patient markers found in ``text`` (case-insensitive). ``bare_number``: the street
    number alone counts too (not in other processes' files, where it may be anything)."""
    folded = text.casefold()
    found = sorted({marker for marker in _FORBIDDEN if marker in folded})
    if bare_number and _NUMBER.search(text):
        found.append(STREET_NUMBER)
    return found


# Mocked geocoder (BAN / Géoplateforme ``/search``)

GEOCODER = "https://geocoder.test/geocodage"
_GEO_JSON = {"Content-Type": "application/json; charset=utf-8"}
#: Each request touching the geocoder is replayed in these modes (failures first: a good
#: answer is cached, failures are not).
FAILURE_MODES = ("http_503", "http_400", "html", "not_geojson", "read_timeout", "connect_error")
BUDGET_S = 0.25


def ban_answer(request: httpx.Request) -> dict[str, Any]:
    """A BAN answer, echoing the query and the address as the real API does."""
    query = request.url.params.get("q", "")
    citycode = request.url.params.get("citycode") or INSEE
    return {
        "type": "FeatureCollection",
        "version": "draft",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(GEO_LON), float(GEO_LAT)]},
                "properties": {
                    "label": f"{STREET_NUMBER} {STREET} 92230 Gennevilliers",
                    "score": 0.9123,
                    "housenumber": STREET_NUMBER,
                    "id": f"{citycode}_zorg_{STREET_NUMBER}",
                    "name": f"{STREET_NUMBER} {STREET}",
                    "postcode": "92230",
                    "citycode": citycode,
                    "x": 647123.45,
                    "y": 6869123.45,
                    "city": "Gennevilliers",
                    "context": "92, Hauts-de-Seine, Île-de-France",
                    "type": "housenumber",
                    "importance": 0.61,
                    "street": STREET,
                },
            }
        ],
        "attribution": "BAN",
        "licence": "ETALAB-2.0",
        "query": query,
        "filters": {"citycode": citycode},
        "limit": 5,
    }


class FakeGeocoder:
    """Answers according to ``mode``; every failure also echoes the query."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.queries: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params.get("q", "")
        self.queries.append(query)
        if self.mode == "ok":
            return httpx.Response(200, json=ban_answer(request), headers=_GEO_JSON)
        if self.mode == "http_503":
            body = {"code": 503, "message": f"Service indisponible pour « {query} »"}
            return httpx.Response(503, json=body, headers=_GEO_JSON)
        if self.mode == "http_400":
            body = {"code": 400, "message": "Failed parsing query", "detail": [f"q: {query}"]}
            return httpx.Response(400, json=body, headers=_GEO_JSON)
        if self.mode == "html":
            page = f"<html><body>Erreur pour {query}</body></html>"
            return httpx.Response(200, text=page, headers={"Content-Type": "text/html"})
        if self.mode == "not_geojson":
            body = {"features": [{"geometry": {"coordinates": query}, "properties": query}]}
            return httpx.Response(200, json=body, headers=_GEO_JSON)
        if self.mode == "read_timeout":
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if self.mode == "connect_error":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.mode == "slow":  # past the call's budget
            await asyncio.sleep(10 * BUDGET_S)
            return httpx.Response(200, json=ban_answer(request), headers=_GEO_JSON)
        raise AssertionError(f"unknown mode {self.mode}")


def online_geocoder_settings() -> Settings:
    return dataclasses.replace(
        offline_settings(),
        geocoder=UpstreamSettings(
            name="geocoder",
            url=GEOCODER,
            budget_s=BUDGET_S,
            retries=1,  # retried failures go through stamina's retry log line
            breaker_failures=1000,
            rate_per_s=1000.0,
        ),
    )


# The requests


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    method: str
    path: str
    expect: frozenset[int]
    params: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    #: Reaches the geocoder: replayed in every mode when the geocoder is enabled.
    geo: bool = False
    #: Also replayed with an answer slower than the budget.
    slow: bool = False
    #: The request carries the patient's name where it may go to the geocoder (``q``).
    name_to_geocoder: bool = False


def _status(*statuses: int) -> frozenset[int]:
    return frozenset(statuses or (200,))


_ADDRESS = {
    "streetnumber": f"{STREET_NUMBER} bis",
    "streetname": STREET,
    "city": CITY,
    "inseecode": INSEE,
}
_CITY_ADDRESS = {k: v for k, v in _ADDRESS.items() if k != "inseecode"}
_LAUNCH = {"origin": ORIGIN, "practitioner": PATIENT, "specialty": PATIENT, **_ADDRESS}
_CITY_LAUNCH = {k: v for k, v in _LAUNCH.items() if k != "inseecode"}
_LINK_EXTRAS = {"patient_name": PATIENT, "nom_patient": PATIENT, "lat": LAT, "lon": LON}
_LONG = f"{FREE_TEXT} " * 20
_RANK = {
    "center": {"lat": float(LAT), "lon": float(LON)},
    "location_type": "address",
    "radius_km": 10.0,
    "seed": PATIENT,
    "candidates": [
        {"id": "a", "lat": float(GEO_LAT), "lon": float(GEO_LON), "sas_participant": True},
        {"id": "b"},
    ],
}
_JSON = {"Content-Type": "application/json"}
OPS_ROUTES = ("/metrics", "/health/ready", "/admin/cache/stats")

GEOCODE, RESOLVE, LINKS = (
    "/v1/geocode",
    "/v1/contextual-search/resolve",
    "/v1/contextual-search/links",
)
SEARCH, RANK = "/v1/search", "/v1/rank"

STEPS: tuple[Step, ...] = (
    # Nominal paths, through the geocoder when it is enabled.
    Step(
        "geocode free text",
        "GET",
        GEOCODE,
        _status(200, 503),
        {"q": FREE_TEXT},
        geo=True,
        slow=True,
        name_to_geocoder=True,
    ),
    Step(
        "geocode free text in a commune",
        "GET",
        GEOCODE,
        _status(),
        {"q": FREE_TEXT_IN_COMMUNE},
        geo=True,
        name_to_geocoder=True,
    ),
    Step("geocode address", "GET", GEOCODE, _status(), _ADDRESS, geo=True),
    Step("geocode address by city", "GET", GEOCODE, _status(200, 503), _CITY_ADDRESS, geo=True),
    Step("resolve launch", "GET", RESOLVE, _status(), _LAUNCH, geo=True),
    Step("resolve launch by city", "GET", RESOLVE, _status(), _CITY_LAUNCH, geo=True, slow=True),
    Step(
        "links",
        "POST",
        LINKS,
        _status(),
        json={"parameters": {**_LAUNCH, **_LINK_EXTRAS}},
        geo=True,
    ),
    Step(
        "links by city",
        "POST",
        LINKS,
        _status(),
        json={"parameters": {**_CITY_LAUNCH, **_LINK_EXTRAS}},
        geo=True,
    ),
    Step("search", "GET", SEARCH, _status(), {"lat": LAT, "lon": LON}),
    Step(
        "search by commune",
        "GET",
        SEARCH,
        _status(),
        {"lat": LAT, "lon": LON, "location_type": "city", "insee": INSEE, "seed": PATIENT},
    ),
    Step("rank", "POST", RANK, _status(), json=_RANK),
    # Errors: the 4xx paths and their messages, with the patient data in the bad values.
    Step(
        "geocode q and fields", "GET", GEOCODE, _status(400), {"q": FREE_TEXT, "streetname": STREET}
    ),
    Step(
        "geocode number without street",
        "GET",
        GEOCODE,
        _status(400),
        {"inseecode": INSEE, "streetnumber": STREET_NUMBER},
    ),
    Step(
        "geocode street without commune",
        "GET",
        GEOCODE,
        _status(400),
        {"streetnumber": STREET_NUMBER, "streetname": STREET},
    ),
    Step(
        "geocode malformed inseecode",
        "GET",
        GEOCODE,
        _status(400),
        {"inseecode": "Zorglub", "streetname": STREET},
    ),
    Step("geocode unknown city", "GET", GEOCODE, _status(404), {"city": CITY}),
    Step("geocode q too long", "GET", GEOCODE, _status(400), {"q": _LONG}),
    Step(
        "geocode street too long",
        "GET",
        GEOCODE,
        _status(400),
        {"inseecode": INSEE, "streetname": _LONG},
    ),
    Step(
        "geocode unmatched path",
        "GET",
        f"{GEOCODE}/{STREET_NUMBER} {STREET}",
        _status(404),
        {"city": CITY},
    ),
    Step("geocode wrong method", "POST", GEOCODE, _status(405), {"q": FREE_TEXT}),
    Step(
        "resolve malformed values",
        "GET",
        RESOLVE,
        _status(),
        {
            "origin": ORIGIN,
            "practitioner": f"urn:oid:{PATIENT}|{STREET_NUMBER}",
            "specialty": f"urn:oid:{PATIENT}|x",
            "streetnumber": STREET_NUMBER,
            "inseecode": "Zorglub",
            "city": CITY,
        },
    ),
    Step("resolve unknown city", "GET", RESOLVE, _status(), {"origin": ORIGIN, "city": CITY}),
    Step(
        "resolve number without street",
        "GET",
        RESOLVE,
        _status(),
        {"origin": ORIGIN, "streetnumber": STREET_NUMBER, "city": CITY},
    ),
    Step("resolve refused origin", "GET", RESOLVE, _status(), {**_LAUNCH, "origin": PATIENT}),
    Step(
        "resolve value too long",
        "GET",
        RESOLVE,
        _status(400),
        {"origin": ORIGIN, "streetname": _LONG},
    ),
    Step(
        "links malformed values",
        "POST",
        LINKS,
        _status(),
        json={
            "parameters": {
                "origin": ORIGIN,
                "practitioner": f"urn:oid:{PATIENT}|1",
                "streetnumber": "bis",
                "inseecode": "Zorglub",
                "city": CITY,
                "streetname": STREET,
                **_LINK_EXTRAS,
            }
        },
    ),
    Step(
        "links value too long",
        "POST",
        LINKS,
        _status(400),
        json={"parameters": {"streetname": _LONG}},
    ),
    Step(
        "links not a mapping",
        "POST",
        LINKS,
        _status(400),
        json={"parameters": [FREE_TEXT, PATIENT]},
    ),
    Step(
        "links unknown field",
        "POST",
        LINKS,
        _status(400),
        json={"parameters": _LAUNCH, "patient_name": PATIENT},
    ),
    Step(
        "links malformed JSON",
        "POST",
        LINKS,
        _status(400),
        content=f'{{"parameters": {{"streetname": "{STREET}", {PATIENT}'.encode(),
    ),
    Step("search malformed lat", "GET", SEARCH, _status(400), {"lat": f"{LAT} {CITY}", "lon": LON}),
    Step("search lon out of range", "GET", SEARCH, _status(400), {"lat": LAT, "lon": f"18{LON}"}),
    Step(
        "search malformed page size",
        "GET",
        SEARCH,
        _status(400),
        {"lat": LAT, "lon": LON, "page_size": PATIENT},
    ),
    Step(
        "search malformed insee",
        "GET",
        SEARCH,
        _status(400),
        {"lat": LAT, "lon": LON, "insee": "Zorglub"},
    ),
    Step(
        "rank malformed center",
        "POST",
        RANK,
        _status(400),
        json={**_RANK, "center": {"lat": f"{LAT} {STREET}", "lon": float(LON)}},
    ),
    Step(
        "rank center out of range",
        "POST",
        RANK,
        _status(400),
        json={**_RANK, "center": {"lat": float(LAT), "lon": float(f"18{LON}")}},
    ),
    Step(
        "rank lat without lon",
        "POST",
        RANK,
        _status(400),
        json={**_RANK, "candidates": [{"id": "a", "lat": float(GEO_LAT)}]},
    ),
    Step("rank unknown field", "POST", RANK, _status(400), json={**_RANK, "patient_name": PATIENT}),
    Step("rank malformed insee", "POST", RANK, _status(400), json={**_RANK, "insee": PATIENT}),
    Step(
        "rank malformed preferred doctor",
        "POST",
        RANK,
        _status(400),
        json={**_RANK, "preferred_doctor": PATIENT},
    ),
    Step(
        "rank malformed JSON",
        "POST",
        RANK,
        _status(400),
        content=f'{{"center": {{"lat": {LAT}, "lon": {LON}}}, "seed": {PATIENT}'.encode(),
    ),
    Step("rank seed too long", "POST", RANK, _status(400), json={**_RANK, "seed": _LONG}),
    Step(
        "rank malformed slot",
        "POST",
        RANK,
        _status(400),
        json={**_RANK, "candidates": [{"id": "a", "first_slot": f"{PATIENT} {LAT}"}]},
    ),
    Step(
        "search seed too long", "GET", SEARCH, _status(400), {"lat": LAT, "lon": LON, "seed": _LONG}
    ),
    # Coded parameters (enum, terminology code, IDNPS): a name pasted there is not echoed.
    Step(
        "search location type",
        "GET",
        SEARCH,
        _status(400),
        {"lat": LAT, "lon": LON, "location_type": PATIENT},
    ),
    Step(
        "rank location type", "POST", RANK, _status(400), json={**_RANK, "location_type": PATIENT}
    ),
    Step(
        "search specialty",  # an unknown code: 200 with only the preferred doctor's cards
        "GET",
        SEARCH,
        _status(200),
        {"lat": LAT, "lon": LON, "specialty": PATIENT},
    ),
    Step(
        "search preferred doctor",
        "GET",
        SEARCH,
        _status(400),
        {"lat": LAT, "lon": LON, "preferred_doctor": PATIENT},
    ),
    Step(
        "search preferred doctor token",
        "GET",
        SEARCH,
        _status(400),
        {"lat": LAT, "lon": LON, "preferred_doctor": f"urn:oid:1.2.250.1.71.4.2.1|{PATIENT}"},
    ),
)


# Sinks


class RecordSink(logging.Handler):
    """Every raw ``logging`` record, whatever the formatter keeps of it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        text = [repr(vars(record))]
        if record.exc_info:
            text.append(self._formatter.formatException(record.exc_info))
        if record.stack_info:
            text.append(record.stack_info)
        where = f"{record.name} {record.pathname}:{record.lineno} ({record.funcName})"
        self.records.append((where, "\n".join(text)))


_VERBOSE_LOGGERS = ("gateway", "stamina", "litestar")


@dataclass(slots=True)
class Logs:
    stream: io.StringIO
    sink: RecordSink

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]


@pytest.fixture
def logs(log_output: io.StringIO) -> Iterator[Logs]:
    """The production JSON logging at DEBUG (``log_output``), plus a raw record sink on the
    root logger, with our and the libraries' loggers at DEBUG. ``httpx``/``httpcore`` keep
    the WARNING floor ``configure_logging`` gives them (their INFO lines are full URLs)."""
    sink = RecordSink()
    root = logging.getLogger()
    root.addHandler(sink)
    saved = {name: logging.getLogger(name).level for name in _VERBOSE_LOGGERS}
    for name in _VERBOSE_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield Logs(log_output, sink)
    root.removeHandler(sink)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


class WriteWatch:
    """Process-wide audit hook recording files opened for writing (or created, renamed,
    removed) while ``active``. Audit hooks cannot be removed: inactive, it does nothing."""

    _FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    _EVENTS = frozenset(
        {
            "os.mkdir",
            "os.rename",
            "os.remove",
            "os.rmdir",
            "os.truncate",
            "os.symlink",
            "os.link",
            "shutil.copyfile",
            "shutil.copytree",
            "shutil.rmtree",
            "tempfile.mkstemp",
            "tempfile.mkdtemp",
            "sqlite3.connect",
        }
    )

    def __init__(self) -> None:
        self.active = False
        self.writes: list[str] = []
        self.installed = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event == "open":
            path, flags = args[0], args[2]
            if isinstance(path, int) or not (isinstance(flags, int) and flags & self._FLAGS):
                return
        elif event not in self._EVENTS:
            return
        target = os.fsdecode(args[0]) if isinstance(args[0], (str, bytes, os.PathLike)) else ""
        if target.endswith(".pyc") or "__pycache__" in target:
            return  # the interpreter caching bytecode for a lazy import
        self.writes.append(f"{event} {target or args!r}")


WATCH = WriteWatch()


@pytest.fixture
def write_watch() -> Iterator[WriteWatch]:
    if not WATCH.installed:
        sys.addaudithook(WATCH)
        WATCH.installed = True
    WATCH.writes.clear()
    yield WATCH
    WATCH.active = False


_SKIPPED_DIRS = frozenset(
    {".venv", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
)
_CHUNK = 1 << 20
_MAX_SCAN = 64 << 20


def file_tree(roots: Iterable[Path]) -> dict[str, tuple[int, int]]:
    """Regular files under ``roots``: path → (mtime_ns, size)."""
    tree: dict[str, tuple[int, int]] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root, onerror=lambda _: None):
            dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    tree[path] = (info.st_mtime_ns, info.st_size)
    return tree


def file_leaks(path: str) -> list[str]:
    """Markers in a file's name or content (read in overlapping chunks)."""
    found = set(leaks(path, bare_number=False))
    overlap = b""
    try:
        with open(path, "rb") as handle:
            for _ in range(_MAX_SCAN // _CHUNK):
                chunk = handle.read(_CHUNK)
                if not chunk:
                    break
                found.update(leaks((overlap + chunk).decode("latin-1"), bare_number=False))
                overlap = chunk[-64:]
    except OSError:
        pass
    return sorted(found)


# Driving the service


@dataclass(slots=True)
class Exchange:
    step: Step
    mode: str
    response: httpx.Response


async def send(client: AppClient, step: Step) -> httpx.Response:
    if step.content is not None:
        return await client.request(
            step.method, step.path, params=step.params, content=step.content, headers=_JSON
        )
    return await client.request(step.method, step.path, params=step.params, json=step.json)


async def drive(
    client: AppClient, steps: Iterable[Step], geocoder: FakeGeocoder | None
) -> tuple[list[Exchange], list[str]]:
    """Every step (in every geocoder mode when the geocoder is enabled): the exchanges, and
    the problems seen on the way (unexpected statuses, patient names sent to the geocoder)."""
    exchanges: list[Exchange] = []
    problems: list[str] = []
    for step in steps:
        modes = ["offline"]
        if geocoder is not None:
            modes = [*FAILURE_MODES, *(["slow"] if step.slow else []), "ok"] if step.geo else ["ok"]
        for mode in modes:
            if geocoder is not None:
                geocoder.mode = mode
                geocoder.queries.clear()
                if step.geo:  # every mode reaches the geocoder
                    client.component(GeoComponent).service.cache.clear()
            response = await send(client, step)
            exchanges.append(Exchange(step, mode, response))
            if response.status_code not in step.expect:
                problems.append(
                    f"{step.name} [{mode}]: HTTP {response.status_code}, expected "
                    f"{sorted(step.expect)} (the scenario does not exercise its path)"
                )
            if geocoder is not None and not step.name_to_geocoder:
                sent = [q for q in geocoder.queries if "patientmarqueur" in q.casefold()]
                if sent:
                    problems.append(
                        f"{step.name} [{mode}]: the patient's name went to the geocoder"
                    )
    return exchanges, problems


def message_leaks(exchange: Exchange) -> list[str]:
    """Error messages echoing patient data. Error bodies are wholly the gateway's words;
    in answers only the per-parameter problem messages are checked (the rest is the
    caller's own data, echoed back)."""
    response = exchange.response
    label = f"{exchange.step.method} {exchange.step.name} [{exchange.mode}]"
    if response.status_code >= 400:
        found = leaks(response.text)
        return [f"{label}: HTTP {response.status_code} body echoes {found}"] if found else []
    body = response.json()
    problems = []
    messages = [e["message"] for e in body.get("errors", [])]
    doctor = body.get("preferred_doctor")
    if isinstance(doctor, dict) and doctor.get("message"):
        messages.append(doctor["message"])
    messages += [
        d["message"] for d in body.get("diagnostics", []) if d["status"] in {"error", "warning"}
    ]
    for message in messages:
        found = leaks(message)
        if found:
            problems.append(f"{label}: error message echoes {found}: {message!r}")
    return problems


@dataclass(slots=True)
class Run:
    exchanges: list[Exchange]
    problems: list[str]
    ops: dict[str, str]
    cache_keys: str
    written_here: list[str]
    changed_files: list[str]


async def run_service(
    settings: Settings,
    steps: Iterable[Step],
    geocoder: FakeGeocoder | None,
    watch: WriteWatch,
    workdir: Path,
) -> Run:
    """Build the app, drive ``steps``, read the ops routes, close it; with the file tree
    snapshotted around the whole life of the service and writes watched meanwhile."""
    roots = [ROOT, Path(tempfile.gettempdir()), workdir]
    before = file_tree(roots)
    transports = None
    if geocoder is not None:
        router = respx.MockRouter(base_url=GEOCODER, assert_all_called=False)
        router.get("/search").mock(side_effect=geocoder)
        transports = Transports(geocoder=httpx.MockTransport(router.async_handler))
    watch.active = True
    try:
        async with make_client(settings, transports) as client:
            exchanges, problems = await drive(client, steps, geocoder)
            ops = {path: (await client.get(path)).text for path in OPS_ROUTES}
            cache_keys = repr(client.component(GeoComponent).service.cache.keys())
    finally:
        watch.active = False
    after = file_tree(roots)
    changed = sorted(path for path, seen in after.items() if before.get(path) != seen)
    written_here = sorted(p for p in after if p not in before and Path(p).is_relative_to(workdir))
    return Run(exchanges, problems, ops, cache_keys, written_here, changed)


def sink_problems(
    logs: Logs, capfd: pytest.CaptureFixture[str], caught: list[warnings.WarningMessage]
) -> list[str]:
    problems = []
    for line in logs.stream.getvalue().splitlines():
        found = leaks(line)
        if found:
            problems.append(f"log line leaks {found}: {line[:400]}")
    for where, text in logs.sink.records:
        found = leaks(text)
        if found:
            problems.append(f"log record from {where} leaks {found}: {text[:400]}")
    out, err = capfd.readouterr()
    for name, text in (("stdout", out), ("stderr", err)):
        found = leaks(text)
        if found:
            problems.append(f"{name} leaks {found}: {text[:400]}")
    for warning in caught:
        found = leaks(f"{warning.message} {warning.filename}")
        if found:
            problems.append(f"warning {warning.category.__name__} leaks {found}: {warning.message}")
    return problems


def run_problems(run: Run) -> list[str]:
    problems = list(run.problems)
    for exchange in run.exchanges:
        problems += message_leaks(exchange)
    for path, text in run.ops.items():
        for line in text.splitlines():
            found = leaks(line)
            if found:
                problems.append(f"{path} leaks {found}: {line[:400]}")
    for line in generate_latest(REGISTRY).decode().splitlines():
        found = leaks(line)
        if found:
            problems.append(f"the process-wide Prometheus registry leaks {found}: {line[:400]}")
    found = leaks(run.cache_keys)
    if found:
        problems.append(f"the address cache holds clear keys {found}")
    for path in run.changed_files:
        found = file_leaks(path)
        if found:
            problems.append(f"file {path} (new or modified meanwhile) holds {found}")
    problems += [f"the service wrote {path} in its working directory" for path in run.written_here]
    return problems


def access_routes(logs: Logs) -> set[str]:
    return {line["route"] for line in logs.lines() if line.get("event") == "request"}


# Tests


@pytest.mark.parametrize("geocoder_enabled", [True, False], ids=["geocoder", "offline"])
async def test_patient_data_reaches_no_log_metric_file_or_error_message(
    geocoder_enabled: bool,
    logs: Logs,
    write_watch: WriteWatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    geocoder = FakeGeocoder() if geocoder_enabled else None
    settings = online_geocoder_settings() if geocoder_enabled else offline_settings()
    monkeypatch.chdir(tmp_path)  # relative writes would land in a directory of our own
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = await run_service(settings, STEPS, geocoder, write_watch, tmp_path)

    problems = run_problems(run) + sink_problems(logs, capfd, caught)
    problems += [f"the service opened a file for writing: {w}" for w in write_watch.writes]

    # The capture works: lines were captured, the expected (non-patient) facts are there.
    routes = access_routes(logs)
    for template in (GEOCODE, RESOLVE, LINKS, SEARCH, RANK, "/metrics", "unmatched"):
        if template not in routes:
            problems.append(f"no access line for {template}: the log capture is broken")
    metrics = run.ops["/metrics"]
    if f'route="{GEOCODE}"' not in metrics:
        problems.append("/metrics has no request counter for /v1/geocode")
    if not any(where.startswith("gateway.") for where, _ in logs.sink.records):
        problems.append("no record from the gateway's loggers reached the sink")
    if geocoder_enabled:
        assert geocoder is not None
        events = {line.get("event") for line in logs.lines()}
        for expected in (
            "stamina.retry_scheduled",
            "geocoder failed; trying the commune reference",
            "request failed",
        ):
            if expected not in events:
                problems.append(f"no {expected!r} line: an error path was not exercised")
        errors = [line for line in metrics.splitlines() if line.startswith("gateway_upstream_err")]
        for kind in ("timeout", "http_503", "ReadTimeout", "ConnectError", "upstream_bad_response"):
            if not any(f'kind="{kind}"' in line for line in errors):
                problems.append(f"no geocoder error of kind {kind} in /metrics")
        if run.cache_keys == "[]":
            problems.append("nothing was cached: the address cache was not exercised")
    assert not problems, "\n".join(problems)


async def test_the_check_catches_a_geocoder_that_logs_its_query(
    logs: Logs, write_watch: WriteWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The detector itself: the same run, with the geocoder client logging the query.
    search = GeocoderClient.search

    async def chatty(self: GeocoderClient, q: str, **kwargs: Any) -> Any:
        logging.getLogger("gateway.geo").debug("geocoding %s", q)
        return await search(self, q, **kwargs)

    monkeypatch.setattr(GeocoderClient, "search", chatty)
    steps = [s for s in STEPS if s.name in {"geocode address", "resolve launch"}]
    run = await run_service(
        online_geocoder_settings(), steps, FakeGeocoder(), write_watch, tmp_path
    )
    assert not run_problems(run)
    line_leaks = [line for line in logs.stream.getvalue().splitlines() if leaks(line)]
    record_leaks = [where for where, text in logs.sink.records if leaks(text)]
    assert line_leaks
    assert all("geocoding" in line for line in line_leaks)
    assert record_leaks
    assert all("chatty" in where for where in record_leaks)


async def test_httpx_request_lines_stay_silenced_at_debug(
    logs: Logs, write_watch: WriteWatch, tmp_path: Path
) -> None:
    # ``configure_logging("DEBUG")`` (the fixture) keeps httpx/httpcore at WARNING: their
    # INFO line is the full upstream URL, the patient's address in its query string.
    for name in ("httpx", "httpcore"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING
    steps = [s for s in STEPS if s.name == "geocode address"]
    run = await run_service(
        online_geocoder_settings(), steps, FakeGeocoder(), write_watch, tmp_path
    )
    assert not run_problems(run)
    assert not [line for line in logs.stream.getvalue().splitlines() if leaks(line)]
    # What the floor prevents (and proof that library loggers are captured too):
    logging.getLogger("httpx").setLevel(logging.INFO)
    try:
        await run_service(online_geocoder_settings(), steps, FakeGeocoder(), write_watch, tmp_path)
    finally:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    leaked = [line for line in logs.stream.getvalue().splitlines() if leaks(line)]
    assert leaked
    assert all(json.loads(line)["logger"] == "httpx" for line in leaked)
