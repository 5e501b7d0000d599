"""What a sync did, item by item, and which upstreams failed it.

Shared by every ``gateway sync …`` command: the command line prints each item as it
completes (``echo``) and ends with a summary naming each failing upstream once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.errors import GatewayError

#: (line, succeeded) → None; called as each item completes.
Echo = Callable[[str, bool], None]


@dataclass(slots=True)
class SyncReport:
    written: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: Upstream name → the first failure it caused (the rest usually repeat it).
    upstreams: dict[str, str] = field(default_factory=dict)
    echo: Echo | None = None

    def ok(self, line: str) -> None:
        self.written.append(line)
        if self.echo is not None:
            self.echo(line, True)

    def fail(self, item: str, error: GatewayError | str) -> None:
        message = error if isinstance(error, str) else error.message
        line = f"{item}: {message}"
        self.failed.append(line)
        if isinstance(error, GatewayError) and "upstream" in error.details:
            self.upstreams.setdefault(str(error.details["upstream"]), message)
        if self.echo is not None:
            self.echo(line, False)
