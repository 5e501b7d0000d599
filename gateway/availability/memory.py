"""Memory work kept off the event loop's critical path during refreshes: the garbage
collector kept off the heap that was there before (``heap_frozen``), and the slots of
replaced source states freed a slice at a time (``SlotReaper``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
from collections.abc import Iterator

from gateway.availability.slots import ReadSlot

SlotsByIdnps = dict[str, tuple[ReadSlot, ...]]
#: Practitioners whose slots the reaper frees per turn of the event loop (~0.5 ms).
REAP_STEP = 200
#: How long the reaper waits for older tables and requests to let retired slots go.
REAP_WAIT_S = 1.0
#: Pause between two reaper steps: a sleep, not a bare yield (see ``_reap``).
REAP_PAUSE_S = 0.001


class SlotReaper:
    def __init__(self) -> None:
        #: Slots of replaced source states, waiting to be freed.
        self.retired: list[SlotsByIdnps] = []
        self.task: asyncio.Task[None] | None = None

    def retire(self, slots: SlotsByIdnps) -> None:
        """Free ``slots`` once nothing else refers to them."""
        self.retired.append(slots)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._reap())

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _reap(self) -> None:
        """Free the slots of replaced source states a slice at a time, once nothing else
        refers to them (the tables and requests still using an older ``Availability``).

        Left to reference counting, 166,000 slots are freed at once when the last table
        built from them is replaced: ~40 ms of stalled event loop per source (110 ms for
        500,000 slots). Once the retired dict is the reaper's alone, nothing else can see
        it, and emptying it ``REAP_STEP`` practitioners at a time frees the same slots
        between requests. Each step is followed by a short sleep, not ``sleep(0)``: with a
        callback always ready the loop never blocks in its poll, and the server's threads
        that hand requests over (granian's, which need the GIL) get it only by forcing a
        switch, 5 ms each time (as for the table build, ``gateway.search.live_availability``)."""
        while self.retired:
            waiting: list[SlotsByIdnps] = []
            for _ in range(len(self.retired)):
                slots = self.retired.pop(0)
                if sys.getrefcount(slots) > 2:  # ``slots`` and getrefcount's argument
                    waiting.append(slots)
                else:
                    while slots:
                        for _ in range(min(REAP_STEP, len(slots))):
                            slots.popitem()
                        await asyncio.sleep(REAP_PAUSE_S)
                del slots
            self.retired.extend(waiting)
            if waiting:
                await asyncio.sleep(REAP_WAIT_S)


_frozen_by = 0


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """The objects alive when the first of the refreshes in progress started stay out of
    the garbage collector's full collections until the last one ends (``gc.freeze``).

    A refresh allocates fast (each upstream call also leaves some cyclic garbage), which
    triggers a full collection every second or so, and a full collection walks the whole
    heap: about 100 ms of stalled event loop each on the 2-core machine with 50,000
    subscriptions (bench.availability). Frozen, the heap is left out of them: they walk
    only what the refreshes made. Nothing is lost: ``gc.unfreeze`` puts everything back
    in the oldest generation, where the next full collection frees any old cycle."""
    global _frozen_by
    if _frozen_by == 0:
        gc.freeze()
    _frozen_by += 1
    try:
        yield
    finally:
        _frozen_by -= 1
        if _frozen_by == 0:
            gc.unfreeze()


def freeze_more() -> None:
    """Inside ``heap_frozen``: freeze what was made since it started too (a source's
    slots, just read: a dict of 16,000 tuples that every full collection during the
    table rebuild would otherwise walk, ~15-20 ms each). Unfrozen with the rest."""
    if _frozen_by:
        gc.freeze()
