"""Progress of a long command: a ``rich`` bar on a terminal, JSON log lines otherwise.

A directory sync knows no total in advance (``Bundle.total`` is not trusted): the bar's
total is the page count of the previous complete run when there is one (for an ETA), else
it only counts.
"""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType
from typing import Self

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("gateway")
#: Without a terminal, one log line per this many seconds at most.
LOG_EVERY_S = 10.0


class _Bar:
    """A ``rich`` bar on a terminal (``columns``), else nothing: subclasses log instead."""

    def __init__(self, terminal: bool | None) -> None:
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._logged = 0.0

    def columns(self) -> tuple[ProgressColumn, ...]:
        return (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )

    def __enter__(self) -> Self:
        if self.terminal:
            self._bar = Progress(*self.columns())
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _log_due(self) -> bool:
        """Without a terminal: whether a log line is due (one per ``LOG_EVERY_S`` at most)."""
        now = time.monotonic()
        if now - self._logged < LOG_EVERY_S:
            return False
        self._logged = now
        return True


class SyncProgress(_Bar):
    def __init__(self, expected_pages: int | None, *, terminal: bool | None = None) -> None:
        super().__init__(terminal)
        self.expected = expected_pages
        self.pages = 0
        self.roles = 0
        self.addresses = 0
        self.current = ""
        self._geocoding: TaskID | None = None
        self._started = time.monotonic()

    def columns(self) -> tuple[ProgressColumn, ...]:
        first, bar, count, *times = super().columns()
        pages = TextColumn("pages · {task.fields[roles]} roles · {task.fields[rate]}/s")
        return (first, bar, count, pages, *times)

    def phase(self, name: str) -> None:
        self.current = name
        if self._bar is not None:
            total = self.expected if name == "roles" else None
            self._task = self._bar.add_task(name, total=total, roles=0, rate="0")
        else:
            log.info("sync phase", extra={"phase": name})

    def page(self, roles: int) -> None:
        self.pages += 1
        self.roles += roles
        rate = self.pages / max(time.monotonic() - self._started, 1e-6)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, roles=f"{self.roles:,}", rate=f"{rate:.1f}")
            return
        if self._log_due():
            log.info(
                "sync progress",
                extra={
                    "phase": self.current,
                    "pages": self.pages,
                    "roles": self.roles,
                    "pages_per_s": round(rate, 2),
                    "expected_pages": self.expected,
                },
            )

    def geocoded(self, addresses: int) -> None:
        """A batch of addresses geocoded: its own line, since batches go on while pages
        are read (``gateway.directory.locations_geocoding``)."""
        self.addresses += addresses
        if self._bar is not None:
            if self._geocoding is None:
                self._geocoding = self._bar.add_task("geocoding", total=None, roles="-", rate="-")
            self._bar.update(self._geocoding, advance=addresses)
        else:
            log.info("sync geocoding", extra={"addresses": addresses, "total": self.addresses})


class ItemProgress(_Bar):
    """Items of a known count (``gateway sync terminology --all``): a bar on a terminal,
    else a JSON log line every ``LOG_EVERY_S``. Lines printed meanwhile go above the bar."""

    def __init__(self, label: str, total: int, *, terminal: bool | None = None) -> None:
        super().__init__(terminal)
        self.label = label
        self.total = total
        self.done = 0
        self._logged = time.monotonic()

    def __enter__(self) -> Self:
        super().__enter__()
        if self._bar is not None:
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def advance(self) -> None:
        self.done += 1
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1)
        elif self._log_due():
            log.info(
                "sync progress", extra={"what": self.label, "done": self.done, "of": self.total}
            )
