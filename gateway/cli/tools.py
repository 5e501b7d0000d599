"""``gateway openapi | demo generate | mappings check|diff | keys new``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.settings import Settings


def openapi(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import create_app

    schema = create_app(settings).openapi_schema.to_schema()
    text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def demo_generate(args: argparse.Namespace, settings: Settings) -> int:
    import time
    from datetime import UTC, datetime

    from gateway.directory.cpts import load_cpts_snapshot
    from gateway.directory.cpts_source import communes_of
    from gateway.geo.communes import load_communes
    from gateway.search.demo import generate_columns, write_snapshot, write_subscriptions
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
    subscribed = write_subscriptions(Path(args.out), columns, args.seed)
    print(
        f"wrote {done.locations} practice locations of {done.practitioners} practitioners "
        f"to {done.path}, {len(subscribed)} of them subscribed to the demo agenda, "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def mappings_check(args: argparse.Namespace, settings: Settings) -> int:
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
        f"synonyms, {len(found.radii)} département radii, {len(found.agenda)} agenda "
        f"source{'' if len(found.agenda) == 1 else 's'}"
    )
    return 0


def mappings_diff(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.mappings.check import diff_directories, format_diff
    from gateway.mappings.csvfile import MappingError

    try:
        print(format_diff(diff_directories(Path(args.old), Path(args.new))))
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def keys_new(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.auth.keys import KeyFileError, Role, new_key

    try:
        key, line = new_key(Role(args.role), args.label)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"key (give it to the consumer; it is shown only once): {key}")
    print(f"line to add to GATEWAY_API_KEYS_FILE: {line}")
    return 0
