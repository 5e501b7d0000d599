"""Atomic file replacement, for every file the gateway writes into a snapshot.

Snapshot files (synced terminology, directory pages, the practice-locations table) are read
by running replicas and by the next start: a crash or a failed sync must leave either the
previous file or the new one, never a truncated file. So each is written to a temporary file
in the same directory (same file system), flushed to disk, then renamed over the target.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose content replaces ``path`` when the block ends without error;
    on error the temporary file is removed and ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)
