"""Labels of the codes the practice-location index holds, remembered once known."""

from __future__ import annotations

from gateway.coded import CodeDisplay
from gateway.terminology.service import TerminologyService


class Labels:
    def __init__(self, terminology: TerminologyService) -> None:
        self.terminology = terminology
        self._known: dict[tuple[str, str], CodeDisplay] = {}

    async def of(self, nos: str, code: str) -> CodeDisplay | None:
        """``None`` for an empty code; the code alone when the terminology has no label."""
        if not code:
            return None
        found = self._known.get((nos, code))
        if found is None:
            found = (await self.terminology.label(nos, code)).value
            if found.display != found.code:
                # Only real labels are remembered: the code alone may be a terminology
                # outage, and the label should appear once it is back.
                self._known[(nos, code)] = found
        return found
