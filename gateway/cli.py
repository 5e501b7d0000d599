"""Command line: ``gateway serve | sync terminology|directory | mappings check|diff |
demo generate | openapi``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from gateway.settings import ConfigError, Settings


def _preflight(settings: Settings) -> str | None:
    """What would stop the service (invalid mappings or keys file), else None."""
    from gateway.auth.keys import KeyFileError, load_keys
    from gateway.mappings.check import check_directory
    from gateway.mappings.csvfile import MappingError

    try:
        settings.snapshot.served()
    except ConfigError as exc:
        return f"configuration error, not starting: {exc}"
    try:
        check_directory(settings.mappings.directory, settings.snapshot.directory)
    except MappingError as exc:
        return f"mappings error, not starting:\n{exc}"
    if settings.security.api_keys_file is not None:
        try:
            load_keys(settings.security.api_keys_file)
        except KeyFileError as exc:
            return f"API keys error, not starting:\n{exc}"
    return None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from granian import Granian
    from granian.constants import Interfaces

    # Fail before forking workers, with the stewards' report rather than a traceback. In a
    # child process: the check loads the snapshot and communes, which granian's main
    # process would otherwise keep for nothing (~100 MB).
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        problem = pool.submit(_preflight, settings).result()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    Granian(
        "gateway.app:app_factory",
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        log_access=False,
    ).serve()
    return 0


def _sync_terminology(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.mappings.nos import MappingError, load_nos
    from gateway.terminology.smt import SmtClient
    from gateway.terminology.sync import sync_terminology
    from gateway.upstream import UpstreamClient

    if not settings.smt.enabled:
        print("GATEWAY_SMT_URL is empty: nothing to sync from (offline mode)", file=sys.stderr)
        return 2
    try:
        entries = load_nos(settings.mappings.directory / "nos.csv")
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else settings.snapshot.directory / "terminology"

    async def run() -> int:
        upstream = UpstreamClient(settings.smt)
        try:
            report = await sync_terminology(SmtClient(upstream), entries, out_dir)
        finally:
            await upstream.aclose()
        return _print_report(report.written, report.failed)

    return asyncio.run(run())


def _sync_directory(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.component import Parts
    from gateway.directory.annuaire import AnnuaireClient
    from gateway.directory.component import ror_client
    from gateway.directory.identifiers import parse_practitioner_id
    from gateway.directory.sync import sync_directory
    from gateway.errors import InvalidInput
    from gateway.upstream import UpstreamClient

    try:
        wanted = [parse_practitioner_id(p, "--practitioner") for p in args.practitioner or []]
    except InvalidInput as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    ror = ror_client(Parts(settings))
    annuaire_settings = settings.annuaire
    annuaire = None
    if annuaire_settings.api_key and annuaire_settings.upstream.enabled:
        upstream = UpstreamClient(
            annuaire_settings.upstream, headers={"ESANTE-API-KEY": annuaire_settings.api_key}
        )
        annuaire = AnnuaireClient(upstream, page_size=annuaire_settings.page_size)
    if ror is None and not wanted:
        print(
            "nothing to sync: set GATEWAY_ROR_CLIENT_ID/SECRET for CPTS, or pass "
            "--practitioner IDNPS (with GATEWAY_ANNUAIRE_API_KEY)",
            file=sys.stderr,
        )
        return 2
    out_dir = Path(args.out) if args.out else settings.snapshot.directory / "directory"

    async def run() -> int:
        try:
            report = await sync_directory(out_dir, ror=ror, annuaire=annuaire, practitioners=wanted)
        finally:
            if ror is not None:
                await ror.aclose()
            if annuaire is not None:
                await annuaire.upstream.aclose()
        return _print_report(report.written, report.failed)

    return asyncio.run(run())


def _print_report(written: list[str], failed: list[str]) -> int:
    for line in written:
        print(f"ok      {line}")
    for line in failed:
        print(f"FAILED  {line}", file=sys.stderr)
    return 1 if failed else 0


def _openapi(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import create_app

    schema = create_app(settings).openapi_schema.to_schema()
    text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _demo_generate(args: argparse.Namespace, settings: Settings) -> int:
    import time
    from datetime import UTC, datetime

    from gateway.directory.cpts import load_cpts_snapshot
    from gateway.directory.cpts_source import communes_of
    from gateway.geo.communes import load_communes
    from gateway.search.demo import generate_columns, write_snapshot
    from gateway.settings import DEMO_SNAPSHOT_DIR

    if args.practitioners < 1:
        print("error: --practitioners must be at least 1", file=sys.stderr)
        return 2
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        print("error: --now must be an ISO 8601 date-time", file=sys.stderr)
        return 2
    started = time.perf_counter()
    communes = load_communes()
    cpts = load_cpts_snapshot(DEMO_SNAPSHOT_DIR, communes_of(communes))
    columns = generate_columns(args.practitioners, args.seed, now, communes, cpts)
    meta = {
        "generator": "gateway demo generate",
        "practitioners": args.practitioners,
        "seed": args.seed,
        "now": now.isoformat(),
    }
    done = write_snapshot(Path(args.out), columns, template=DEMO_SNAPSHOT_DIR, meta=meta)
    print(
        f"wrote {done.locations} practice locations of {done.practitioners} practitioners "
        f"to {done.path} in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _mappings_check(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.mappings.check import check_directory
    from gateway.mappings.csvfile import MappingError

    directory = Path(args.dir) if args.dir else settings.mappings.directory
    try:
        found = check_directory(directory, settings.snapshot.directory)
    except MappingError as exc:
        problems = str(exc).splitlines()
        print(f"{len(problems)} problem(s) in {directory}:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print(
            "Nothing was changed. Fix the lines above, then run the check again.", file=sys.stderr
        )
        return 1
    for warning in found.warnings:
        print(f"warning: {warning}")
    print(
        f"OK {directory} (version {found.version}): {len(found.nos)} NOS, "
        f"{len(found.authorities)} LRM/SAMU authorities, {len(found.synonyms)} specialty "
        f"synonyms, {len(found.radii)} département radii"
    )
    return 0


def _mappings_diff(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.mappings.check import diff_directories, format_diff
    from gateway.mappings.csvfile import MappingError

    try:
        print(format_diff(diff_directories(Path(args.old), Path(args.new))))
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _keys_new(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.auth.keys import KeyFileError, Role, new_key

    try:
        key, line = new_key(Role(args.role), args.label)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"key (give it to the consumer; it is shown only once): {key}")
    print(f"line to add to GATEWAY_API_KEYS_FILE: {line}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="SAS terminology & directory gateway"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service (granian)")
    serve.add_argument("--host", help="bind address (default GATEWAY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default GATEWAY_PORT or 8000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default GATEWAY_WORKERS or 1)"
    )
    serve.set_defaults(func=_serve)
    sync = sub.add_parser("sync", help="materialise snapshots from the upstreams")
    sync_sub = sync.add_subparsers(dest="what", required=True)
    terminology = sync_sub.add_parser("terminology", help="NOS listed in mappings/nos.csv")
    terminology.add_argument("--out", help="directory (default <GATEWAY_SNAPSHOT_DIR>/terminology)")
    terminology.set_defaults(func=_sync_terminology)
    directory = sync_sub.add_parser(
        "directory", help="CPTS from the ROR, and --practitioner bundles from the Annuaire"
    )
    directory.add_argument("--out", help="directory (default <GATEWAY_SNAPSHOT_DIR>/directory)")
    directory.add_argument(
        "--practitioner", action="append", metavar="IDNPS", help="fetch this practitioner"
    )
    directory.set_defaults(func=_sync_directory)
    keys = sub.add_parser("keys", help="consumer API keys")
    keys_sub = keys.add_subparsers(dest="what", required=True)
    keys_new = keys_sub.add_parser("new", help="print a fresh key and its keys-file line")
    keys_new.add_argument("--role", required=True, choices=["search", "lrm", "admin"])
    keys_new.add_argument("--label", required=True, help="who holds it, e.g. front")
    keys_new.set_defaults(func=_keys_new)
    mappings = sub.add_parser("mappings", help="check or compare the steward tables")
    mappings_sub = mappings.add_subparsers(dest="what", required=True)
    check = mappings_sub.add_parser(
        "check", help="validate every table against the snapshot and the communes"
    )
    check.add_argument("--dir", help="mappings directory (default GATEWAY_MAPPINGS_DIR)")
    check.set_defaults(func=_mappings_check)
    diff = mappings_sub.add_parser("diff", help="rows added, removed and changed")
    diff.add_argument("old", help="the mappings directory in force")
    diff.add_argument("new", help="the proposed mappings directory")
    diff.set_defaults(func=_mappings_diff)
    demo = sub.add_parser("demo", help="fictitious data for demos and benchmarks")
    demo_sub = demo.add_subparsers(dest="what", required=True)
    generate = demo_sub.add_parser(
        "generate", help="a snapshot of N fictitious practitioners over real communes"
    )
    generate.add_argument("--practitioners", type=int, required=True, metavar="N")
    generate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    generate.add_argument("--out", required=True, help="snapshot directory to write")
    generate.add_argument("--now", help="ISO date-time the free slots start from (default now)")
    generate.set_defaults(func=_demo_generate)
    openapi = sub.add_parser("openapi", help="print the OpenAPI document")
    openapi.add_argument("--out", help="write to this file instead of stdout")
    openapi.set_defaults(func=_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    result: int = args.func(args, settings)
    return result


if __name__ == "__main__":
    sys.exit(main())
