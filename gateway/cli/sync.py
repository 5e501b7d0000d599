"""``gateway sync terminology|directory``: fetch from the upstreams into a snapshot.

Each item prints one line as it completes (``ok`` on stdout, ``FAILED`` on stderr), then
a summary names each upstream that failed and its host; the retry log of the HTTP client
is silenced (a command line reports per item, not per attempt). Without ``--out``, a sync
refuses to write into the demo snapshot bundled in the package unless ``--update-demo``
says so: an operator means to fill their own snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from gateway.errors import GatewayError
from gateway.settings import DEMO_SNAPSHOT_DIR, Settings, UpstreamSettings
from gateway.upstream.report import SyncReport


def add_target_arguments(parser: argparse.ArgumentParser, part: str) -> None:
    parser.add_argument("--out", help=f"directory (default <GATEWAY_SNAPSHOT_DIR>/{part})")
    parser.add_argument(
        "--update-demo",
        action="store_true",
        help="allow writing into the bundled demo snapshot (when GATEWAY_SNAPSHOT_DIR is unset)",
    )


def target(args: argparse.Namespace, settings: Settings, part: str) -> Path | None:
    """Where to write; None (after saying why) when that would be the bundled demo."""
    if args.out:
        return Path(args.out)
    snapshot = settings.snapshot.directory
    if snapshot.resolve() == DEMO_SNAPSHOT_DIR.resolve() and not args.update_demo:
        print(
            f"error: without --out this would write into the bundled demo snapshot "
            f"({snapshot}). Set GATEWAY_SNAPSHOT_DIR to your snapshot, pass --out DIR, or "
            f"--update-demo to change the demo on purpose.",
            file=sys.stderr,
        )
        return None
    return snapshot / part


def echo(line: str, ok: bool) -> None:
    if ok:
        print(f"ok      {line}", flush=True)
    else:
        print(f"FAILED  {line}", file=sys.stderr, flush=True)


def summarise(what: str, report: SyncReport, upstreams: Sequence[UpstreamSettings]) -> int:
    """The last lines: counts, then each failing upstream with its host. Exit code."""
    stream = sys.stderr if report.failed else sys.stdout
    print(f"sync {what}: {len(report.written)} written, {len(report.failed)} failed", file=stream)
    hosts = {u.name: httpx.URL(u.url).host or u.url for u in upstreams}
    for name, message in report.upstreams.items():
        print(f"  upstream {name} at {hosts.get(name, '?')}: {message}", file=stream)
    return 1 if report.failed else 0


def run_sync(
    what: str,
    sync: Callable[[], Coroutine[Any, Any, SyncReport]],
    upstreams: Sequence[UpstreamSettings],
) -> int:
    with quiet_retries():
        report = asyncio.run(sync())
    return summarise(what, report, upstreams)


@contextmanager
def quiet_retries() -> Iterator[None]:
    """A command line reports per item, not per attempt: no retry log lines."""
    import stamina.instrumentation

    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([])
    try:
        yield
    finally:
        stamina.instrumentation.set_on_retry_hooks(hooks)


def terminology(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.cli.progress import ItemProgress
    from gateway.mappings.nos import MappingError, load_nos
    from gateway.observability.logging import configure_logging
    from gateway.terminology.smt import SmtClient
    from gateway.terminology.sync import Mirrored, catalogue, sync_terminology
    from gateway.upstream import UpstreamClient

    if not settings.smt.enabled:
        print("GATEWAY_SMT_URL is empty: nothing to sync from (offline mode)", file=sys.stderr)
        return 2
    try:
        listed = load_nos(settings.mappings.directory / "nos.csv")
    except MappingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = target(args, settings, "terminology")
    if out_dir is None:
        return 2
    # Without a terminal the progress is JSON log lines on stderr.
    configure_logging(settings.server.log_level, sys.stderr)

    async def sync() -> SyncReport:
        upstream = UpstreamClient(settings.smt)
        smt = SmtClient(upstream)
        try:
            entries: list[Mirrored] = list(listed)
            if args.all:
                try:
                    entries = await catalogue(smt, listed)
                except GatewayError as exc:
                    report = SyncReport(echo=echo)
                    report.fail("the SMT's list of NOS", exc)
                    return report
                print(f"{len(entries)} NOS published ({len(listed)} in nos.csv)", flush=True)
            with ItemProgress("NOS", len(entries)) as progress:
                return await sync_terminology(smt, entries, out_dir, echo, progress.advance)
        finally:
            await upstream.aclose()

    return run_sync("terminology", sync, [settings.smt])


def directory(args: argparse.Namespace, settings: Settings) -> int:
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
    if ror is None and not wanted:
        print(
            "nothing to sync: set GATEWAY_ROR_CLIENT_ID/SECRET for CPTS, or pass "
            "--practitioner IDNPS (with GATEWAY_ANNUAIRE_API_KEY)",
            file=sys.stderr,
        )
        return 2
    out_dir = target(args, settings, "directory")
    if out_dir is None:
        return 2

    async def sync() -> SyncReport:
        annuaire = None
        if annuaire_settings.api_key and annuaire_settings.upstream.enabled:
            upstream = UpstreamClient(
                annuaire_settings.upstream,
                headers={"ESANTE-API-KEY": annuaire_settings.api_key},
            )
            annuaire = AnnuaireClient(upstream, page_size=annuaire_settings.page_size)
        try:
            return await sync_directory(
                out_dir, ror=ror, annuaire=annuaire, practitioners=wanted, echo=echo
            )
        finally:
            if ror is not None:
                await ror.aclose()
            if annuaire is not None:
                await annuaire.upstream.aclose()

    return run_sync("directory", sync, [annuaire_settings.upstream, settings.ror.upstream])
