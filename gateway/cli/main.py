"""Command line: ``gateway serve | sync terminology|directory|locations | mappings check|diff |
demo generate | keys new | openapi``. One module per group of commands; each imports what
it needs when it runs, so ``gateway --help`` stays fast."""

from __future__ import annotations

import argparse
import sys

from gateway.cli import locations, serve, sync, tools
from gateway.settings import ConfigError, Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="SAS terminology & directory gateway"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("serve", help="run the HTTP service (granian)")
    server.add_argument("--host", help="bind address (default GATEWAY_HOST or 127.0.0.1)")
    server.add_argument("--port", type=int, help="port (default GATEWAY_PORT or 8000)")
    server.add_argument(
        "--workers", type=int, help="worker processes (default GATEWAY_WORKERS or 1)"
    )
    server.set_defaults(func=serve.serve)
    syncs = sub.add_parser("sync", help="materialise snapshots from the upstreams")
    sync_sub = syncs.add_subparsers(dest="what", required=True)
    terminology = sync_sub.add_parser("terminology", help="NOS listed in mappings/nos.csv")
    sync.add_target_arguments(terminology, "terminology")
    terminology.add_argument(
        "--all", action="store_true", help="every NOS the SMT publishes, not only nos.csv"
    )
    terminology.set_defaults(func=sync.terminology)
    directory = sync_sub.add_parser(
        "directory", help="CPTS from the ROR, and --practitioner bundles from the Annuaire"
    )
    sync.add_target_arguments(directory, "directory")
    directory.add_argument(
        "--practitioner", action="append", metavar="IDNPS", help="fetch this practitioner"
    )
    directory.set_defaults(func=sync.directory)
    index = sync_sub.add_parser(
        "locations", help="the practice-location index from the Annuaire Santé (geocoded)"
    )
    sync.add_target_arguments(index, "directory")
    index.add_argument(
        "--full", action="store_true", help="rebuild from scratch (default: incremental)"
    )
    index.set_defaults(func=locations.locations)
    keys = sub.add_parser("keys", help="consumer API keys")
    keys_sub = keys.add_subparsers(dest="what", required=True)
    keys_new = keys_sub.add_parser("new", help="print a fresh key and its keys-file line")
    keys_new.add_argument("--role", required=True, choices=["search", "lrm", "admin"])
    keys_new.add_argument("--label", required=True, help="who holds it, e.g. front")
    keys_new.set_defaults(func=tools.keys_new)
    mappings = sub.add_parser("mappings", help="check or compare the steward tables")
    mappings_sub = mappings.add_subparsers(dest="what", required=True)
    check = mappings_sub.add_parser(
        "check", help="validate every table against the snapshot and the communes"
    )
    check.add_argument("--dir", help="mappings directory (default GATEWAY_MAPPINGS_DIR)")
    check.set_defaults(func=tools.mappings_check)
    diff = mappings_sub.add_parser("diff", help="rows added, removed and changed")
    diff.add_argument("old", help="the mappings directory in force")
    diff.add_argument("new", help="the proposed mappings directory")
    diff.set_defaults(func=tools.mappings_diff)
    demo = sub.add_parser("demo", help="fictitious data for demos and benchmarks")
    demo_sub = demo.add_subparsers(dest="what", required=True)
    generate = demo_sub.add_parser(
        "generate", help="a snapshot of N fictitious practitioners over real communes"
    )
    generate.add_argument("--practitioners", type=int, required=True, metavar="N")
    generate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    generate.add_argument("--out", required=True, help="snapshot directory to write")
    generate.add_argument("--now", help="ISO date-time the free slots start from (default now)")
    generate.set_defaults(func=tools.demo_generate)
    openapi = sub.add_parser("openapi", help="print the OpenAPI document")
    openapi.add_argument("--out", help="write to this file instead of stdout")
    openapi.set_defaults(func=tools.openapi)
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
