"""An OID the snapshot does not hold, resolved through a stub SMT (issue 14's figure).

Starts a stub SMT (a ``ThreadingHTTPServer`` answering ``CodeSystem?identifier=urn:oid:…``,
``?name=`` and ``?url=`` searches with a copy of TRE_R38 under another OID, 5-20 ms per
answer, every call counted) and ``gateway serve`` online against it over a snapshot that
holds TRE_G15 only.
Then, per round, a burst of ``--burst`` identical cold ``/v1/terminology/resolve`` requests
for a fresh OID, all at once; then ``--after`` requests (8 at a time) spread over the OID, the
bare OID, the NOS name and the canonical URL. Prints the SMT calls of each phase and the latencies.

    .venv/bin/python -m bench.cold_oid [--burst 100] [--after 400] [--rounds 3]

Target: one SMT search per burst, none after. Exit status: 0 met, 1 missed, 2 could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import add_smoke_option, apply_smoke, log
from bench._server import Server, free_port, run_bench, serving
from bench._stubs import StubServer, _bundle
from gateway.settings import DEMO_SNAPSHOT_DIR

TRE_R38 = DEMO_SNAPSHOT_DIR / "terminology" / "CodeSystem-TRE_R38.json"
OID_ROOT = "1.2.250.1.213.9.9"  # one fresh OID per round, under a root nothing uses
#: The requests after a burst measure local serving: a few at a time, not a queue.
AFTER_CONCURRENCY = 8


def _nos(round_: int) -> dict[str, Any]:
    """A NOS code system of its own per round: TRE_R9<n>, urn:oid:<root>.<n>."""
    resource: dict[str, Any] = copy.deepcopy(_TEMPLATE)
    name = f"TRE_R9{round_}"
    resource["url"] = f"https://mos.esante.gouv.fr/NOS/{name}-Bench/FHIR/TRE-R9{round_}-Bench"
    resource["name"] = f"{name}_Bench"
    resource["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": _oid(round_)}]
    return resource


def _oid(round_: int) -> str:
    return f"urn:oid:{OID_ROOT}.{round_}"


_TEMPLATE: dict[str, Any] = json.loads(TRE_R38.read_text(encoding="utf-8"))


def _smt(rounds: int) -> StubServer:
    published = [_nos(n) for n in range(rounds)]

    def route(path: str, query: dict[str, str], _key: str | None) -> tuple[int, str, Any]:
        kind = path.removeprefix("/fhir/")
        found = [
            r
            for r in published
            if kind == "CodeSystem"
            and (
                query.get("identifier") == r["identifier"][0]["value"]
                or query.get("url") == r["url"]
                or (query.get("name") and r["name"].startswith(query["name"]))
            )
        ]
        search = next((k for k in ("identifier", "name", "url") if k in query), "other")
        return 200, search, _bundle([(r, "match") for r in found])

    return StubServer("smt", "/fhir", route, "application/fhir+json")


async def _timed(client: httpx.AsyncClient, coding: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.get("/v1/terminology/resolve", params={"coding": coding})
    return response.status_code, (time.perf_counter() - started) * 1000


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(ordered):8.2f} {p95:8.2f} {ordered[-1]:8.2f}"


async def _round(
    client: httpx.AsyncClient, smt: StubServer, n: int, args: argparse.Namespace
) -> bool:
    resource = _nos(n)
    code = resource["concept"][0]["code"]
    oid = _oid(n)
    before = sum(smt.calls.values())
    burst = await asyncio.gather(*(_timed(client, f"{oid}|{code}") for _ in range(args.burst)))
    during = sum(smt.calls.values()) - before
    forms = [oid, oid.removeprefix("urn:oid:"), f"TRE_R9{n}", resource["url"]]
    after_batch = [f"{forms[i % len(forms)]}|{code}" for i in range(args.after)]
    gate = asyncio.Semaphore(AFTER_CONCURRENCY)

    async def gated(coding: str) -> tuple[int, float]:
        async with gate:
            return await _timed(client, coding)

    after = await asyncio.gather(*(gated(coding) for coding in after_batch))
    later = sum(smt.calls.values()) - before - during
    failed = [s for s, _ in [*burst, *after] if s != 200]
    print(
        f"#{n + 1:<5} {args.burst:>5} {during:>9}   {_ms([t for _, t in burst])}"
        f" {args.after:>6} {later:>9}   {_ms([t for _, t in after])} {len(failed):>6}"
    )
    return during == 1 and later == 0 and not failed


def bench(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="cold-oid-") as tmp, _smt(args.rounds) as smt:
        threading.Thread(target=smt.serve_forever, daemon=True).start()
        snapshot = Path(tmp) / "snapshot"
        (snapshot / "terminology").mkdir(parents=True)
        # One unrelated NOS: a gateway with no offline fallback at all is not ready.
        shutil.copy(TRE_R38.with_name("CodeSystem-TRE_G15.json"), snapshot / "terminology")
        server = Server(
            snapshot=snapshot,
            port=free_port(),
            access_log=False,
            log_level="WARNING",
            workers=None,
            log_file=Path(tmp) / "gateway.log",
        )
        server.env["GATEWAY_SMT_URL"] = smt.url
        with serving(server):
            log(f"starting the gateway on a snapshot of TRE_G15 only, SMT stub at {smt.url}")
            server.start()
            results = asyncio.run(_all_rounds(server.base, smt, args))
        smt.shutdown()
    ok = all(results)
    print(
        f"{'PASS' if ok else 'FAIL'}  one SMT search per burst of {args.burst} cold requests, "
        f"none for the {args.after} requests after (OID, bare OID, NOS name, canonical URL)"
    )
    return 0 if ok else 1


async def _all_rounds(base: str, smt: StubServer, args: argparse.Namespace) -> list[bool]:
    limits = httpx.Limits(max_connections=args.burst, max_keepalive_connections=args.burst)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:
        print(
            f"{'round':<6} {'burst':>5} {'SMT calls':>9}   {'p50 ms':>8} {'p95 ms':>8} "
            f"{'max ms':>8} {'after':>6} {'SMT calls':>9}   {'p50 ms':>8} {'p95 ms':>8} "
            f"{'max ms':>8} {'errors':>6}"
        )
        return [await _round(client, smt, n, args) for n in range(args.rounds)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_oid", description=__doc__)
    parser.add_argument("--burst", type=int, default=100, help="identical cold requests at once")
    parser.add_argument("--after", type=int, default=400, help="requests after each burst")
    parser.add_argument("--rounds", type=int, default=3, help="fresh OIDs, one burst each")
    add_smoke_option(parser, "--burst 20 --after 20 --rounds 1")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    apply_smoke(args, burst=20, after=20, rounds=1)
    if args.rounds > 9:
        raise SystemExit("--rounds: at most 9")
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main())
