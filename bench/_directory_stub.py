"""A national-size Annuaire Santé and a geocoder CSV endpoint, for ``bench.locations``.

Run as its own process (``python -m bench._directory_stub --roles N --organizations M``):
it prints ``READY <port>`` once it listens on ``127.0.0.1`` and serves until SIGTERM. One
``ThreadingHTTPServer`` (HTTP/1.1 keep-alive) answers:

* ``GET /fhir/v2/PractitionerRole|Practitioner|Organization`` (header ``ESANTE-API-KEY:
  bench``, else 401): searchset Bundles of ``_count`` resources, ``next`` links carrying
  ``_offset``, the two role ``_include`` s (each page includes the practitioners and
  organizations of its roles), ``_lastUpdated=ge…`` and ``_id=a,b,…``;
* ``POST /geocodage/search/csv`` (multipart ``data`` file, BAN's CSV API): every row back
  with ``latitude,longitude,result_score,result_type,result_citycode``; 97 % get a
  ``housenumber`` within ~1 km of the row's commune (score 0.85-0.97, ``result_citycode``
  = its ``citycode``), 3 % no result;
* ``GET /_bench/stats``: what was served; ``POST /_bench/edition``: from now on, one
  organization in 50 has moved (another house number, ``lastUpdated`` now).

Nothing is held per resource: each one is formatted on the fly from its number (small
numpy arrays of attributes, seeded), with the shapes of the Annuaire's DP examples
(``../shared/reference/annuaire/examples``, narrative left out). Roles ``R<i>`` are paged in
order; practitioner ``P<k>`` has 1 to 3 consecutive roles (1.5 on average); role ``i`` is
at organization ``O<(i*A) mod M>`` (``A`` prime to ``M``: every organization has a role).
Everything was last updated on :data:`OLD` until an edition moves organizations.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import threading
import time
import zlib
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

from gateway.directory.identifiers import IDNPS_OFFSET, IDNPS_SYSTEM, RPPS_SYSTEM
from gateway.directory.model import INSEE_EXTENSION
from gateway.geo.communes import PLM_CITIES, load_communes
from gateway.search.demo import FAMILIES, GIVENS, PROFILES, luhn_check_digits

OLD = "2024-06-01T00:00:00.000+02:00"
API_KEY = "bench"
#: Roles per practitioner, repeated: 12 roles for 8 practitioners.
PATTERN = (1, 2, 1, 1, 3, 1, 2, 1)
#: The demo's mix (all in JDV_J239) at 95 %, and 5 % the SAS does not search.
MIX = [(g15, r38, w * 0.95) for g15, r38, w in PROFILES] + [("21", "", 0.03), ("10", "SM26", 0.02)]
MOVED_EVERY = 50
NO_RESULT = ["", "", "", "", ""]
RESULT_COLUMNS = ("latitude", "longitude", "result_score", "result_type", "result_citycode")
NOS = "https://mos.esante.gouv.fr/NOS"
G15 = f"{NOS}/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
R38 = f"{NOS}/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
V2 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
ADXP = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-"
AS = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-dp-"
STREET_TYPES = ["R", "R", "R", "AV", "BD", "PL", "CHE", "ALL", "IMP", "RTE"]
STREETS = str.split("""VICTOR_HUGO DE_LA_REPUBLIQUE JEAN_JAURES PASTEUR DE_LA_GARE
    DU_GENERAL_DE_GAULLE DE_L_EGLISE NATIONALE DES_ECOLES DU_MOULIN GAMBETTA CARNOT
    DE_LA_LIBERATION FOCH CLEMENCEAU JULES_FERRY DE_LA_MAIRIE DU_STADE DES_TILLEULS
    DE_LA_PAIX LECLERC DU_8_MAI_1945 EMILE_ZOLA DU_CHATEAU SAINT_MARTIN DES_LILAS
    ANATOLE_FRANCE DE_PARIS DU_COMMERCE MOLIERE""")


def _meta(kind: str, updated: str) -> str:
    profile = f'"https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-{kind}|2.2.0",'
    profile += f'"{AS}{kind.replace("-", "")}|1.2.0-snapshot-2"'
    return (
        f'"meta":{{"versionId":"1","lastUpdated":"{updated}","source":'
        f'"https://annuaire.esante.gouv.fr","profile":[{profile}]}},"language":"fr"'
    )


def _coding(system: str, code: str) -> str:
    return f'{{"system":"{system}","code":"{code}"}}'


def _typed_id(kind: str, system: str, value: str) -> str:
    kind_coding = _coding(V2, kind)
    return f'{{"use":"official","type":{{"coding":[{kind_coding}]}},"system":"{system}","value":"{value}"}}'  # noqa: E501


class Directory:
    """The generated directory: resource ``number`` → its JSON text."""

    def __init__(self, roles: int, organizations: int, seed: int = 1) -> None:
        self.roles, self.organizations = roles, organizations
        blocks, rest = divmod(roles, sum(PATTERN))
        self.practitioners = blocks * len(PATTERN) + _covering(rest)
        # Role offset within a block -> (practitioner offset, ordinal); first role of each.
        self._within = [(p, o) for p, n in enumerate(PATTERN) for o in range(n)]
        self._first = [sum(PATTERN[:p]) for p in range(len(PATTERN))]
        step = int(organizations * 0.6180339887) | 1
        while math.gcd(step, organizations) != 1:
            step += 2
        self.step = step
        rng = np.random.default_rng(seed)
        communes = load_communes()
        places = [c for c in communes.records()
                  if c.kind in {"COM", "ARM"} and c.insee not in PLM_CITIES
                  and (c.population or 0) > 0]  # fmt: skip
        weights = np.array([c.population or 0 for c in places], dtype=np.float64)
        self.places = [(c.insee, (c.postcodes or ("",))[0], json.dumps(
            communes.city_of(c).name.upper(), ensure_ascii=False)) for c in places]  # fmt: skip
        self.org_place = rng.choice(len(places), organizations, p=weights / weights.sum())
        self.org_number = rng.integers(1, 200, organizations)
        self.org_street = rng.integers(0, len(STREETS) * len(STREET_TYPES), organizations)
        self.profile = rng.choice(len(MIX), self.practitioners, p=[w for *_, w in MIX])
        self.family = rng.integers(0, len(FAMILIES), self.practitioners)
        self.given = rng.integers(0, len(GIVENS), self.practitioners)
        bodies = 2_600_000_000 + np.arange(self.practitioners, dtype=np.int64)
        self.idnps = IDNPS_OFFSET + bodies * 10 + luhn_check_digits(bodies)
        self.points = {c.insee: (c.lat, c.lon) for c in communes.records()}
        self.moved_at: str | None = None  # set by an edition

    # -- structure ------------------------------------------------------------------------
    def practitioner_of(self, role: int) -> int:
        block, offset = divmod(role, sum(PATTERN))
        return block * len(PATTERN) + self._within[offset][0]

    def roles_of(self, practitioner: int) -> range:
        block, offset = divmod(practitioner, len(PATTERN))
        first = block * sum(PATTERN) + self._first[offset]
        return range(first, min(first + PATTERN[offset], self.roles))

    def organization_of(self, role: int) -> int:
        return role * self.step % self.organizations

    def moved(self, organization: int) -> bool:
        return self.moved_at is not None and organization % MOVED_EVERY == 0

    # -- resources ------------------------------------------------------------------------
    def role(self, i: int) -> str:
        return (
            f'{{"resourceType":"PractitionerRole","id":"R{i}",{_meta("practitioner-role", OLD)},'
            f'"identifier":[{{"system":"{RPPS_SYSTEM}","value":"F{i:09d}"}}],"active":true,'
            f'"practitioner":{{"reference":"Practitioner/P{self.practitioner_of(i)}"}},'
            f'"organization":{{"reference":"Organization/O{self.organization_of(i)}"}},'
            f'"code":[{{"coding":[{_coding(f"{NOS}/TRE_R22-GenreActivite/FHIR/TRE-R22-GenreActivite", "GENR01")}]}},'  # noqa: E501
            f'{{"coding":[{_coding(f"{NOS}/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice", "L")}]}}]}}'  # noqa: E501
        )

    def practitioner(self, k: int) -> str:
        g15, r38, _ = MIX[self.profile[k]]
        idnps = str(self.idnps[k])
        family, given = f"BENCH-{FAMILIES[self.family[k]]}", GIVENS[self.given[k]]
        category = f"{NOS}/TRE_R09-CategorieProfessionnelle/FHIR/TRE-R09-CategorieProfessionnelle"
        diploma = f"{NOS}/TRE_R48-DiplomeEtatFrancais/FHIR/TRE-R48-DiplomeEtatFrancais"
        qualifications = [_coding(G15, g15), _coding(category, "C")]
        codes = [
            f'{{"code":{{"coding":[{_coding(diploma, "DE05")}]}}}}',
            f'{{"code":{{"coding":[{",".join(qualifications)}]}}}}',
        ]
        if r38:
            codes.append(f'{{"code":{{"coding":[{_coding(R38, r38)}]}}}}')
        return (
            f'{{"resourceType":"Practitioner","id":"P{k}",{_meta("practitioner", OLD)},'
            f'"identifier":[{_typed_id("IDNPS", IDNPS_SYSTEM, idnps)},'
            f'{_typed_id("RPPS", RPPS_SYSTEM, idnps[1:])}],"active":true,'
            f'"name":[{{"use":"usual","family":"{family}","given":["{given}"],'
            f'"prefix":["{"DR" if g15 == "10" else "M"}"]}}],'
            f'"telecom":[{{"system":"email","value":"p{k}@bench.mssante.fr"}}],'
            f'"qualification":[{",".join(codes)}]}}'
        )

    def organization(self, j: int) -> str:
        insee, postcode, city = self.places[self.org_place[j]]
        kind, street = divmod(int(self.org_street[j]), len(STREETS))
        number = int(self.org_number[j]) + (200 if self.moved(j) else 0)
        updated = self.moved_at if self.moved(j) and self.moved_at else OLD
        parts = [("houseNumber", str(number)), ("streetNameType", STREET_TYPES[kind]),
                 ("streetNameBase", STREETS[street].replace("_", " "))]  # fmt: skip
        line = ",".join(f'{{"url":"{ADXP}{p}","valueString":"{v}"}}' for p, v in parts)
        return (
            f'{{"resourceType":"Organization","id":"O{j}",{_meta("organization", updated)},'
            f'"identifier":[{_typed_id("IDNST", "urn:oid:1.2.250.1.71.4.2.2", f"3{j:09d}")}],'
            f'"active":true,"type":[{{"coding":[{_coding(V2[:-4] + "3307", "GEOGRAPHICAL-ENTITY")}]}}],'  # noqa: E501
            f'"name":"CABINET {STREETS[street].replace("_", " ")} {j}",'
            f'"telecom":[{{"system":"phone","value":"01{j % 10**8:08d}","rank":1}}],'
            f'"address":[{{"extension":[{{"url":"{INSEE_EXTENSION}","valueCoding":'
            f"{_coding(f'{NOS}/TRE_R13-Commune/FHIR/TRE-R13-Commune', insee)}}}],"
            f'"_line":[{{"extension":[{line}]}}],"city":{city},"postalCode":"{postcode}"}}]}}'
        )

    # -- searches -------------------------------------------------------------------------
    def matching(self, kind: str, since: datetime | None) -> range:
        """Numbers of the resources a search of ``kind`` updated since ``since`` finds."""
        size = {"PractitionerRole": self.roles, "Practitioner": self.practitioners}
        everything = range(size.get(kind, self.organizations))
        if since is None or since <= datetime.fromisoformat(OLD):
            return everything
        moved = self.moved_at
        if kind == "Organization" and moved and since <= datetime.fromisoformat(moved):
            return range(0, self.organizations, MOVED_EVERY)
        return range(0)

    def page(self, kind: str, numbers: range | list[int]) -> tuple[list[str], list[str]]:
        """(matches, includes) as JSON texts; a role page includes its people and places."""
        text = {"PractitionerRole": self.role, "Practitioner": self.practitioner}
        matches = [text.get(kind, self.organization)(n) for n in numbers]
        if kind != "PractitionerRole":
            return matches, []
        people = dict.fromkeys(self.practitioner_of(i) for i in numbers)
        places = dict.fromkeys(self.organization_of(i) for i in numbers)
        return matches, [self.practitioner(k) for k in people] + [
            self.organization(j) for j in places
        ]

    def geocode_row(self, address: str, citycode: str) -> list[str]:
        """BAN's result columns for one CSV row (empty: no result)."""
        h = zlib.crc32(f"{address}|{citycode}".encode())
        found = self.points.get(citycode)
        if found is None or h % 100 < 3:
            return NO_RESULT
        lat, lon = found[0] + (h % 999 - 499) / 5e4, found[1] + (h // 999 % 999 - 499) / 5e4
        score = 0.85 + (h // 997 % 13) / 100
        return [f"{lat:.6f}", f"{lon:.6f}", f"{score:.2f}", "housenumber", citycode]


def _covering(roles: int) -> int:
    """How many practitioners of :data:`PATTERN` the first ``roles`` roles of a block need."""
    total = 0
    for count, n in enumerate(PATTERN):
        if total >= roles:
            return count
        total += n
    return len(PATTERN)


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, directory: Directory, latency_s: float, geocoder_rows_per_s: float = 0.0
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.directory, self.latency_s = directory, latency_s
        #: The geocoder's throughput (0: answers at once): a batch takes rows / this.
        self.geocoder_rows_per_s = geocoder_rows_per_s
        self.lock, self.stats = threading.Lock(), Counter[str]()
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, **figures: float) -> None:
        with self.lock:
            self.stats.update(figures)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubServer

    def do_GET(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        if url.path == "/_bench/stats":
            with self.server.lock:
                stats = dict(self.server.stats)
            return self._send(200, "application/json", json.dumps(stats).encode())
        kind = url.path.removeprefix("/fhir/v2/")
        if self.headers["ESANTE-API-KEY"] != API_KEY:
            return self._send(401, "application/fhir+json", b'{"resourceType":"OperationOutcome"}')
        if kind not in ("PractitionerRole", "Practitioner", "Organization"):
            return self._send(404, "application/fhir+json", b'{"resourceType":"OperationOutcome"}')
        pairs = parse_qsl(url.query)
        query = dict(pairs)
        count, offset = int(query.get("_count", "50")), int(query.get("_offset", "0"))
        directory = self.server.directory
        since = query.get("_lastUpdated", "").removeprefix("ge")
        numbers: range | list[int] = directory.matching(
            kind, datetime.fromisoformat(since) if since else None
        )
        if "_id" in query:
            wanted = [int(i[1:]) for i in query["_id"].split(",") if i[1:].isdigit()]
            numbers = [n for n in wanted if n in numbers]
        chosen = numbers[offset : offset + count]
        matches, includes = directory.page(kind, chosen)
        if "_include" not in query:
            includes = []
        entries = [f'{{"resource":{r},"search":{{"mode":"match"}}}}' for r in matches]
        entries += [f'{{"resource":{r},"search":{{"mode":"include"}}}}' for r in includes]
        links = ""
        if offset + count < len(numbers):
            following = [(k, v) for k, v in pairs if k != "_offset"]
            following.append(("_offset", str(offset + count)))
            href = f"{self.server.base}{url.path}?{urlencode(following)}"
            links = f'"link":[{{"relation":"next","url":"{href}"}}],'
        body = (f'{{"resourceType":"Bundle","type":"searchset","total":{len(numbers)},{links}'
                f'"entry":[{",".join(entries)}]}}').encode()  # fmt: skip
        if self.server.latency_s:
            time.sleep(self.server.latency_s)
        self._send(200, "application/fhir+json;charset=utf-8", body)
        route = kind + ("?_id" if "_id" in query else "?_lastUpdated" if since else "")
        figures = {"pages": 1, f"pages {route}": 1, "resources": len(entries), "bytes": len(body)}
        self.server.count(**figures, busy_s=time.perf_counter() - started)

    def do_POST(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/_bench/edition":
            self.server.directory.moved_at = datetime.now(UTC).isoformat(timespec="milliseconds")
            moved = len(range(0, self.server.directory.organizations, MOVED_EVERY))
            return self._send(200, "application/json", json.dumps({"moved": moved}).encode())
        if url.path != "/geocodage/search/csv":
            return self._send(404, "application/json", b"{}")
        rows = csv.reader(io.StringIO(_form_file(self.headers["Content-Type"], data)))
        head = next(rows, [])
        if "address" not in head or "citycode" not in head:
            return self._send(400, "application/json", b'{"message": "no address column"}')
        address, citycode = head.index("address"), head.index("citycode")
        geocode = self.server.directory.geocode_row
        answers = [[*row, *geocode(row[address], row[citycode])] for row in rows]
        if self.server.geocoder_rows_per_s:
            time.sleep(len(answers) / self.server.geocoder_rows_per_s)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*head, *RESULT_COLUMNS])
        writer.writerows(answers)
        self._send(200, "text/csv; charset=utf-8", out.getvalue().encode())
        placed = sum(1 for row in answers if row[-1])
        self.server.count(geocoder_calls=1, geocoder_rows=len(answers), geocoder_placed=placed,
                          busy_s=time.perf_counter() - started)  # fmt: skip

    def _send(self, status: int, media_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silent


def _form_file(content_type: str, body: bytes) -> str:
    """The ``data`` part of a ``multipart/form-data`` body, as text."""
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="data"' in head:
            return content.removesuffix(b"\r\n").decode("utf-8-sig")
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._directory_stub")
    parser.add_argument("--roles", type=int, required=True)
    parser.add_argument("--organizations", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--geocoder-rows-per-s", type=float, default=0.0)
    args = parser.parse_args()
    directory = Directory(args.roles, args.organizations)
    server = StubServer(directory, args.latency_ms / 1000, args.geocoder_rows_per_s)
    print(f"READY {server.server_address[1]} practitioners={directory.practitioners}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
