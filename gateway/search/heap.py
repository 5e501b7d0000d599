"""Letting go of a replaced index without stalling the event loop, and handing the heap
it freed back to the system (glibc only).

Freeing a national index takes 25-55 ms (unmapping ~300 MB, or freeing the arrays of one
built in-process); done by the last search or the reload handler to drop it, that ran on
the event loop and every request waited. :func:`drop_later` keeps the index a little longer
and drops it in a thread of its own.

glibc keeps freed memory in its heap for later allocations, and raises its mmap threshold
as big blocks are freed, so many arrays of an index built in-process (start-up) end up in
the heap: once such an index was dropped, the worker's RSS kept ~200 MB more per reload
(562 -> 1,222 MiB over four reloads of a national file), not a leak, but memory no one
used. ``malloc_trim(0)`` returns it; a no-op off glibc (musl, macOS).
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        trim = ctypes.CDLL(None).malloc_trim  # the libc the process already uses
    except (ValueError, OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    function: Callable[[int], int] = trim
    return function


def trim_heap() -> bool:
    """``malloc_trim(0)`` (ctypes releases the GIL meanwhile); False when not on glibc."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def drop_later(value: object, after_s: float) -> None:
    """Hold ``value`` ``after_s`` seconds more (long enough for the searches and the handler
    still using it to finish), then drop it and trim the heap in a daemon thread: that
    thread, not the event loop, frees it when it held the last reference."""
    held = [value]
    del value

    def run() -> None:
        time.sleep(after_s)
        held.clear()
        trim_heap()

    threading.Thread(target=run, name="drop-replaced-index", daemon=True).start()
