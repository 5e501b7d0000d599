"""Stub upstreams for ``bench.soak --upstreams stub`` (``ThreadingHTTPServer``s, keep-alive,
in threads of the bench; each answer waits 5-20 ms and is counted): geocoder (a BAN housenumber
feature, score 0.9, in the commune asked), Annuaire Santé (searchset Bundles: the demo snapshot's
practitioners, or one synthesised for an IDNPS of :data:`POOL`), SMT (the demo terminology)."""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec

from gateway.directory.identifiers import IDNPS_SYSTEM, RPPS_SYSTEM, idnps_of, luhn_valid
from gateway.directory.model import INSEE_EXTENSION
from gateway.geo.communes import load_communes
from gateway.settings import DEMO_SNAPSHOT_DIR

SMT_VERSION = "20260730120000"
NEWER = {"version": SMT_VERSION, "date": "2026-07-30"}  # what the SMT stub changes in the demo
MAX_ENTRIES, MAX_BYTES = 2000, 256 * 2**20  # GATEWAY_CACHE_MAX_ENTRIES, _MAX_BYTES (default)
#: Short TTLs, so that refreshes, expiry and eviction all happen within a 10-minute soak.
_ENV = """GATEWAY_TERMINOLOGY_SOFT_TTL=30 GATEWAY_TERMINOLOGY_HARD_TTL=120 GATEWAY_CARD_SOFT_TTL=30
    GATEWAY_CARD_HARD_TTL=120 GATEWAY_GEOCODE_TTL=60 GATEWAY_GEOCODE_MAX_ENTRIES=2000"""
CACHE_ENV = {k: v for k, _, v in map(str.partition, _ENV.split(), "=" * 6)}
CACHE_ENV["GATEWAY_CACHE_MAX_ENTRIES"] = str(MAX_ENTRIES)
#: Patient addresses: 34 communes (arrondissements, a PLM city, overseas) x 36 streets x 1-300
INSEES = str.split("""75103 75108 75111 75115 75117 75118 75120 92036 92012 93066 94028 69381
    69383 69387 13055 13201 13208 33063 31555 06088 44109 67482 34172 59350 35238 48095 38185
    21231 63113 87085 2A004 97411 76540 37261""")
_NAMES = "Victor Hugo|de la République|Jean Jaurès|Pasteur|de la Gare|du Général de Gaulle"
STREETS = [f"{kind} {name}" for kind in str.split("rue avenue boulevard place allée chemin")
           for name in _NAMES.split("|")]  # fmt: skip
#: 2,000 valid IDNPS (8 + an 11-digit RPPS passing its Luhn check) the Annuaire stub knows.
_RPPS = [r for r in (f"10{i:08d}{d}" for i in range(2000) for d in "0123456789") if luhn_valid(r)]
POOL = [idnps_of(rpps) for rpps in _RPPS]
#: TRE_R38 codes the demo CodeSystem (content: fragment) lacks: cards using them → $lookup.
EXTRA_CODES = {"SM02": "Anesthésie-réanimation", "SM28": "Néphrologie", "SM30": "Neurologie"}
SPECIALTIES = ["SM54", "SM54", "SM04", "SM40", "SM20", "SM32", *EXTRA_CODES]
FAMILIES = str.split("MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS SIMON")
GIVEN = str.split("Marie Jean Pierre Claire Nathalie Philippe Isabelle Nicolas Luc")
PLM = {"paris": "75101", "lyon": "69381", "marseille": "13201"}  # a query with no citycode
R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
Answer = tuple[int, str, Any]  # status, route (what is counted), JSON body
Route = Callable[[str, dict[str, str], str | None], Answer]  # path, query, ESANTE-API-KEY
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
Summary = tuple[list[str], list[tuple[bool, str]]]  # report lines, (passed, check)
#: /admin/cache/stats: cache -> its figures. Caches report different columns (the geocode
#: cache has no ``stale`` nor ``bytes``, the shared tier no ``entries``), so none is assumed.
CacheStats = dict[str, dict[str, Any]]
Found = list[tuple[dict[str, Any], str]]  # (resource, search mode)


def _bundle(found: Found) -> dict[str, Any]:
    entries = [{"resource": r, "search": {"mode": m}} for r, m in found]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": entries}


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, prefix: str, route: Route, media_type: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.name, self.route, self.media_type = name, route, media_type
        self.lock, self.calls = threading.Lock(), Counter[str]()
        self.url = f"http://127.0.0.1:{self.server_address[1]}{prefix}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    server: StubServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        time.sleep(random.uniform(0.005, 0.020))
        query, key = dict(parse_qsl(url.query)), self.headers["ESANTE-API-KEY"]
        status, route, body = self.server.route(url.path, query, key)
        with self.server.lock:
            self.server.calls[route] += 1
        data = msgspec.json.encode(body)
        self.send_response(status)
        self.send_header("Content-Type", self.server.media_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent


class Stubs:
    """The three stub servers, serving from ``__enter__``; ``env`` points the gateway at them."""

    def __init__(self, rate: float) -> None:
        self.communes, self.pool = load_communes(), set(_RPPS)
        bundle = DEMO_SNAPSHOT_DIR / "directory" / "Bundle-demo-practitioners.json"
        self.directory = [e["resource"] for e in msgspec.json.decode(bundle.read_bytes())["entry"]]
        files = sorted((DEMO_SNAPSHOT_DIR / "terminology").glob("*.json"))
        self.terminology = [msgspec.json.decode(f.read_bytes()) | NEWER for f in files]
        fhir = "application/fhir+json;charset=utf-8"
        self.servers = [
            StubServer("geocoder", "/geocodage", self.geocoder, "application/json"),
            StubServer("annuaire", "/fhir/v2", self.annuaire, fhir),
            StubServer("smt", "/fhir", self.smt, fhir),
        ]
        self.env = {f"GATEWAY_{s.name.upper()}_URL": s.url for s in self.servers} | CACHE_ENV
        self.env |= {"GATEWAY_ANNUAIRE_API_KEY": "bench", "GATEWAY_ROR_URL": ""}
        if rate > 0:  # lift the client-side quotas (geocoder 50/s, Annuaire 17/s, SMT 20/s)
            self.env |= {f"GATEWAY_{n}_RATE": f"{rate:g}" for n in ("GEOCODER", "ANNUAIRE", "SMT")}
        self._marks, self.peak = dict[str, dict[str, Counter[str]]](), Counter[str]()

    def __enter__(self) -> Stubs:
        for server in self.servers:
            threading.Thread(target=server.serve_forever, name=server.name, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def _demo(self, match: Callable[[dict[str, Any]], bool]) -> Found:
        found = [r for r in self.directory if r["resourceType"] == "Practitioner" and match(r)]
        refs = {f"Practitioner/{p['id']}" for p in found}
        roles = [r for r in self.directory if r.get("practitioner", {}).get("reference") in refs]
        refs = {r["organization"]["reference"] for r in roles}
        roles += [r for r in self.directory if f"{r['resourceType']}/{r['id']}" in refs]
        return [(p, "match") for p in found] + [(r, "include") for r in roles]

    def geocoder(self, path: str, p: dict[str, str], _key: str | None) -> Answer:
        q = p.get("q", "")
        if path != "/geocodage/search" or not 3 <= len(q) <= 200:
            return 400, "HTTP 400", {"code": 400, "message": "q must be 3 to 200 characters"}
        code = p.get("citycode") or PLM.get(q.rsplit(" ", 1)[-1].casefold(), "75108")
        commune = self.communes.by_insee(code) or self.communes.by_insee("75108")
        assert commune is not None
        h = zlib.crc32(q.encode())  # a stable point within ~1 km of the commune's
        lat, lon = commune.lat + (h % 999 - 499) / 5e4, commune.lon + (h // 999 % 999 - 499) / 5e4
        city, postcode = self.communes.city_of(commune).name, (commune.postcodes or ("",))[0]
        props = {"label": q, "score": 0.9, "type": "housenumber", "citycode": commune.insee}
        props |= {"city": city, "postcode": postcode, "housenumber": q.partition(" ")[0]}
        point = {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}
        feature = {"type": "Feature", "geometry": point, "properties": props}
        body = {"type": "FeatureCollection", "features": [feature], "query": q, "limit": 5}
        return 200, "search", body

    def annuaire(self, path: str, p: dict[str, str], key: str | None) -> Answer:
        if key != "bench" or path != "/fhir/v2/Practitioner":
            return (401, "HTTP 401", OUTCOME) if key != "bench" else (404, "HTTP 404", OUTCOME)
        if "identifier" in p:
            rpps = p["identifier"].rpartition("|")[2][-11:]
            found = self._demo(lambda r: any(i["value"] == rpps for i in r["identifier"]))
            found = found or (self._synthetic(rpps) if rpps in self.pool else [])
            return 200, "Practitioner?identifier", _bundle(found)
        words = p.get("name", "").casefold().split()
        found = self._demo(lambda r: any(w in r["name"][0]["family"].casefold() for w in words))
        return 200, "Practitioner?name", _bundle(found)

    def _synthetic(self, rpps: str) -> Found:
        """A practitioner (the same for one RPPS) practising in one or two places."""
        r, pid = random.Random(rpps), f"bench-{rpps}"
        idnps = {"system": IDNPS_SYSTEM, "value": idnps_of(rpps)}
        ids = [idnps, {"system": RPPS_SYSTEM, "value": rpps}]
        codings = [{"system": G15, "code": "10"}, {"system": R38, "code": r.choice(SPECIALTIES)}]
        name = {"use": "usual", "family": r.choice(FAMILIES), "given": [r.choice(GIVEN)]}
        practitioner = {"resourceType": "Practitioner", "id": pid, "active": True}
        practitioner |= {"identifier": ids, "name": [name | {"prefix": ["DR"]}]}
        practitioner["qualification"] = [{"code": {"coding": [c]}} for c in codings]
        out: Found = [(practitioner, "match")]
        for k in range(r.choice([1, 1, 2])):
            commune = self.communes.by_insee(r.choice(INSEES))
            assert commune is not None
            insee = {"url": INSEE_EXTENSION, "valueCoding": {"code": commune.insee}}
            address = {"extension": [insee], "postalCode": commune.postcodes[0]}
            address |= {"line": [f"{r.randint(1, 300)} {r.choice(STREETS).upper()}"]}
            address["city"] = self.communes.city_of(commune).name.upper()
            org = {"resourceType": "Organization", "id": f"{pid}-org-{k}", "active": True}
            org |= {"name": f"Cabinet {name['family']} {k + 1}", "address": [address]}
            role = {"resourceType": "PractitionerRole", "id": f"{pid}-role-{k}", "active": True}
            role |= {"practitioner": {"reference": f"Practitioner/{pid}"}}
            role["organization"] = {"reference": f"Organization/{org['id']}"}
            out += [(role, "include"), (org, "include")]
        return out

    def smt(self, path: str, p: dict[str, str], _key: str | None) -> Answer:
        kind, _, operation = path.removeprefix("/fhir/").partition("/")
        url, version = p.get("url") or p.get("system"), p.get("version", p.get("valueSetVersion"))
        found = [x for x in self.terminology if x["resourceType"] == kind and x["url"] == url]
        found = [x for x in found if version in (None, SMT_VERSION)]
        if not operation:
            return 200, kind, _bundle([(x, "match") for x in found])
        code = p.get("code", "")
        if operation == "$lookup" and found:
            concepts = {c["code"]: c.get("display") for c in found[0].get("concept", [])}
            display = concepts.get(code) or (EXTRA_CODES.get(code) if url == R38 else None)
            if display:
                parts = (("name", found[0]["name"]), ("version", SMT_VERSION), ("display", display))
                parameter = [{"name": n, "valueString": v} for n, v in parts]
                return 200, "$lookup", {"resourceType": "Parameters", "parameter": parameter}
        if operation == "$expand" and found:
            include = found[0]["compose"]["include"]
            contains = [{"system": i["system"], **c} for i in include for c in i.get("concept", [])]
            offset, count = int(p.get("offset", 0)), int(p.get("count", 1000))
            expansion = {"total": len(contains), "contains": contains[offset : offset + count]}
            return 200, "$expand", found[0] | {"expansion": expansion}
        return 404, "HTTP 404", OUTCOME

    def calls(self, since: str) -> dict[str, Counter[str]]:
        """Calls per stub and route since the previous ``calls(since)`` (from the start)."""
        now = {s.name: s.calls.copy() for s in self.servers}  # one C-level dict copy each
        before, self._marks[since] = self._marks.get(since, {}), now
        return {name: calls - before.get(name, Counter()) for name, calls in now.items()}

    async def _stats(self, admin: httpx.AsyncClient) -> CacheStats:
        stats: CacheStats = (await admin.get("/admin/cache/stats")).json()
        self.peak |= {k: max(self.peak[k], n) for k, n in _figure(stats, "entries").items()}
        return stats

    async def sample(self, admin: httpx.AsyncClient, seconds: float) -> str:  # calls/s, entries
        stats, calls = await self._stats(admin), self.calls("sample")
        rates = ", ".join(f"{n} {c.total() / seconds:.0f}" for n, c in calls.items())
        sizes = ", ".join(f"{k} {n}" for k, n in _figure(stats, "entries").items())
        return f"        upstream calls/s: {rates}; cache entries: {sizes}"

    async def summary(self, admin: httpx.AsyncClient, elapsed: float) -> Summary:
        """Calls per stub since ``calls("run")``, cache stats, upstream errors, bounds check."""
        stats, lines = await self._stats(admin), ["", "upstream stubs (measured run):"]
        for name, c in self.calls("run").items():
            routes = ", ".join(f"{k} {v}" for k, v in c.most_common())
            lines.append(f"  {name:<8} {c.total():>8} calls {c.total() / elapsed:6.1f}/s: {routes}")
        lines += ["/admin/cache/stats at the end:", *stats_table(stats)]
        metrics = (await admin.get("/metrics")).text.splitlines()
        errors = [f"  {x}" for x in metrics if x.startswith("gateway_upstream_errors_total{")]
        lines += ["gateway upstream errors (/metrics):", *(errors or ["  none"])]
        return lines, [bounds_check(self.peak, stats)]


def _figure(stats: CacheStats, column: str) -> dict[str, int]:
    """``column`` of each cache that reports it as a number."""
    return {k: n for k, v in stats.items() if isinstance(n := v.get(column), int)}


def stats_table(stats: CacheStats) -> list[str]:
    """Aligned lines: every column any cache reports, first seen first; ``-`` where absent."""
    columns = list(dict.fromkeys(c for figures in stats.values() for c in figures))
    rows = [["cache", *columns]]
    rows += [[k, *(str(v.get(c, "-")) for c in columns)] for k, v in stats.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + " ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]


def bounds_check(peak: Counter[str], stats: CacheStats) -> tuple[bool, str]:
    """(passed, text): the most entries seen per cache, and the bytes of those reporting any."""
    sized = _figure(stats, "bytes")
    ok = max(peak.values(), default=0) <= MAX_ENTRIES
    ok &= all(n <= MAX_BYTES for n in sized.values())
    peaks = ", ".join(f"{k} {n}" for k, n in peak.items()) or "none reported"
    text = f"cache bounds: peak entries {peaks} <= {MAX_ENTRIES}"
    return ok, text + f", bytes ({', '.join(sized) or 'none reported'}) <= 256 MiB"
