"""``gateway serve``: check what would stop the service, then run it under granian."""

from __future__ import annotations

import argparse
import sys

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


def serve(args: argparse.Namespace, settings: Settings) -> int:
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
