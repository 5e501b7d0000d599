"""What every bench module shares: repository paths, the bench error and progress logging."""

from __future__ import annotations

from pathlib import Path

#: Root of the repository (the parent of ``bench/``).
REPO = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """The bench cannot run (setup, server or endpoint failure)."""


def log(message: str) -> None:
    """Print a progress line, prefixed ``[bench]``, immediately."""
    print(f"[bench] {message}", flush=True)
