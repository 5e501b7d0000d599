"""What every bench module shares: repository paths, the bench error, progress logging and
the ``--smoke`` option."""

from __future__ import annotations

import argparse
from pathlib import Path

#: Root of the repository (the parent of ``bench/``).
REPO = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """The bench cannot run (setup, server or endpoint failure)."""


def log(message: str) -> None:
    """Print a progress line, prefixed ``[bench]``, immediately."""
    print(f"[bench] {message}", flush=True)


def add_smoke_option(parser: argparse.ArgumentParser, smallest: str) -> None:
    """``--smoke``: the smallest run that still goes through every step of the bench.

    Its figures mean nothing; it is what the test suite runs (tests/integration/
    test_bench_smoke.py) so that a bench broken by a change fails CI, not the next
    person who measures.
    """
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"check that the bench runs, in seconds; figures mean nothing ({smallest})",
    )


def apply_smoke(args: argparse.Namespace, **smallest: object) -> None:
    """With ``--smoke``, replace those options by the ``smallest`` values."""
    if args.smoke:
        vars(args).update(smallest)
