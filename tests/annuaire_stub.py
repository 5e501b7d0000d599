"""A small Annuaire Santé (FHIR R4) and a geocoder CSV endpoint, for respx.

The directory pages (``_count``, ``next`` links carrying an offset), honours ``active``,
``_lastUpdated=ge``, ``_id`` and the two role ``_include``s, and can be told to fail a
page, send a malformed one or ignore the includes. Resources are shaped like the IG's
examples (``../shared/reference/annuaire/examples``): IDNPS and RPPS identifiers, TRE_G15 /
TRE_R38 qualifications, INSEE extension and ``_line`` parts on addresses.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx

from gateway.directory.identifiers import IDNPS_SYSTEM, RPPS_SYSTEM
from gateway.directory.model import INSEE_EXTENSION

ANNUAIRE_URL = "https://annuaire.test/fhir/v2"
GEOCODER_URL = "https://geocoder.test/geocodage"
G15 = "https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante"
R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
ADXP = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-"
FHIR_HEADERS = {"Content-Type": "application/fhir+json;charset=UTF-8"}


@dataclass
class AnnuaireStub:
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: Every page after the first also carries the search's first resource again (a
    #: server whose order shifts between two pages).
    repeat_first: bool = False
    #: Page numbers (1-based, of any search) answered 503, once each.
    fail_pages: set[int] = field(default_factory=set)
    malformed_pages: set[int] = field(default_factory=set)
    ignore_includes: bool = False
    served_pages: int = 0
    requests: list[httpx.Request] = field(default_factory=list)

    def _stamp(self, resource: dict[str, Any]) -> dict[str, Any]:
        # Real instants: a sync asks for what changed since its previous run's start.
        resource["meta"] = {"lastUpdated": datetime.now(UTC).isoformat()}
        self.resources[(resource["resourceType"], resource["id"])] = resource
        return resource

    def practitioner(
        self, rid: str, rpps: str, family: str, given: str, profession: str, specialty: str = ""
    ) -> None:
        qualification = [{"code": {"coding": [{"system": G15, "code": profession}]}}]
        if specialty:
            qualification.append({"code": {"coding": [{"system": R38, "code": specialty}]}})
        self._stamp({
            "resourceType": "Practitioner", "id": rid, "active": True,
            "identifier": [{"system": IDNPS_SYSTEM, "value": f"8{rpps}"},
                           {"system": RPPS_SYSTEM, "value": rpps}],
            "name": [{"family": family, "given": [given]}],
            "qualification": qualification,
        })  # fmt: skip

    def organization(
        self, rid: str, name: str, number: str, kind: str, street: str, insee: str, postcode: str
    ) -> None:
        parts = [("houseNumber", number), ("streetNameType", kind), ("streetNameBase", street)]
        self._stamp({
            "resourceType": "Organization", "id": rid, "name": name,
            "address": [{
                "extension": [{"url": INSEE_EXTENSION, "valueCoding": {"code": insee}}],
                "_line": [{"extension": [
                    {"url": ADXP + part, "valueString": value} for part, value in parts if value
                ]}],
                "postalCode": postcode, "city": f"{postcode} VILLE",
            }],
        })  # fmt: skip

    def role(self, rid: str, practitioner: str, organization: str, active: bool = True) -> None:
        self._stamp({
            "resourceType": "PractitionerRole", "id": rid, "active": active,
            "practitioner": {"reference": f"Practitioner/{practitioner}"},
            "organization": {"reference": f"Organization/{organization}"},
        })  # fmt: skip

    def delete(self, kind: str, rid: str) -> None:
        del self.resources[(kind, rid)]

    def touch(self, kind: str, rid: str, **changes: Any) -> None:
        self._stamp({**self.resources[(kind, rid)], **changes})

    # -- the FHIR search ------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        kind = request.url.path.rsplit("/", 1)[-1]
        params = request.url.params
        self.served_pages += 1
        if self.served_pages in self.fail_pages:
            self.fail_pages.discard(self.served_pages)
            return httpx.Response(503)
        if self.served_pages in self.malformed_pages:
            self.malformed_pages.discard(self.served_pages)
            body = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": 7}]}
            return httpx.Response(200, json=body, headers=FHIR_HEADERS)
        matches = [r for (k, _), r in sorted(self.resources.items()) if k == kind]
        if "_id" in params:
            wanted = set(params["_id"].split(","))
            matches = [r for r in matches if r["id"] in wanted]
        if params.get("active") == "true":
            matches = [r for r in matches if r.get("active") is not False]
        since = params.get("_lastUpdated", "").removeprefix("ge")
        if since:
            instant = datetime.fromisoformat(since)
            matches = [
                r for r in matches if datetime.fromisoformat(r["meta"]["lastUpdated"]) >= instant
            ]
        count, offset = int(params.get("_count", "50")), int(params.get("_offset", "0"))
        page = matches[offset : offset + count]
        if self.repeat_first and offset and matches:
            page = [matches[0], *page]
        entries = [{"resource": r, "search": {"mode": "match"}} for r in page]
        if kind == "PractitionerRole" and not self.ignore_includes:
            included = {
                (ref.split("/")[0], ref.split("/")[1])
                for r in page
                for ref in (r["practitioner"]["reference"], r["organization"]["reference"])
            }
            entries += [
                {"resource": self.resources[key], "search": {"mode": "include"}}
                for key in sorted(included)
                if key in self.resources
            ]
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
        if offset + count < len(matches):
            following = request.url.copy_set_param("_offset", str(offset + count))
            bundle["link"] = [{"relation": "next", "url": str(following)}]
        return httpx.Response(200, content=json.dumps(bundle), headers=FHIR_HEADERS)

    def pages_of(self, kind: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(f"/{kind}")]


@dataclass
class GeocoderStub:
    """``POST /search/csv``: answers each row from ``known`` (street line, citycode) →
    (lat, lon, score, type, citycode); unknown rows come back without a result."""

    known: dict[tuple[str, str], tuple[float, float, float, str, str]] = field(default_factory=dict)
    rows: int = 0
    calls: int = 0
    fail: bool = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.fail:
            return httpx.Response(503)
        fields = _multipart(request)
        reader = csv.DictReader(io.StringIO(fields["data"].decode("utf-8")))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "address", "postcode", "citycode", "latitude", "longitude",
                         "result_score", "result_type", "result_citycode"])  # fmt: skip
        for row in reader:
            self.rows += 1
            hit = self.known.get((row["address"], row["citycode"]))
            result = [str(v) for v in hit] if hit else ["", "", "", "", ""]
            writer.writerow([row["id"], row["address"], row["postcode"], row["citycode"], *result])
        return httpx.Response(
            200, content=out.getvalue().encode(), headers={"Content-Type": "text/csv"}
        )


def _multipart(request: httpx.Request) -> dict[str, bytes]:
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.read())
    out: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = payload
    return out
