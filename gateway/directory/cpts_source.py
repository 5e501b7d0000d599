"""Where the CPTS index comes from: the snapshot at start, the ROR when credentials exist.

Online, the index is rebuilt from the ROR in the background (at start, then every
``interval_s``); when the ROR fails, the previous index keeps being served.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gateway.directory.cpts import CommunesOf, CptsIndex
from gateway.directory.ror import RorClient, fetch_cpts_index
from gateway.errors import GatewayError
from gateway.geo.communes import CommuneIndex

log = logging.getLogger("gateway.directory")


class _CommuneReference:
    """``CommunesOf`` over the commune reference."""

    def __init__(self, communes: CommuneIndex) -> None:
        self.communes = communes

    def __call__(self, level: int, code: str) -> list[str]:
        """TRE_R201 levels 1 (région) and 2 (département) expand to their communes."""
        if level == 2:
            return self.communes.communes_of_departement(code)
        if level == 1:
            return self.communes.communes_of_region(code)
        return []

    def same_city(self, insee: str) -> list[str]:
        return self.communes.same_city(insee)


def communes_of(communes: CommuneIndex) -> CommunesOf:
    return _CommuneReference(communes)


async def keep_refreshed(
    client: RorClient,
    expand: CommunesOf,
    publish: Callable[[CptsIndex], object],
    interval_s: float = 3600.0,
) -> None:
    """Rebuild the index from the ROR forever; cancel the task to stop."""
    while True:
        try:
            publish(await fetch_cpts_index(client, expand))
        except GatewayError as exc:
            log.warning(
                "CPTS refresh from the ROR failed; keeping the previous index",
                extra={"error": exc.code},
            )
        await asyncio.sleep(interval_s)
