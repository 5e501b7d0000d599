"""A code with the label people read, and the rule for a code without one.

Cards, search results and the terminology's own indexes all show codes the same way: the
terminology's label when it has one, else the code itself (an unknown or unreachable code
is shown as is, never dropped nor left blank). One struct and one rule, in no domain
package, so the directory, the search and the web layer share them.
"""

from __future__ import annotations

import msgspec


def label_or_code(display: str | None, code: str) -> str:
    return display or code


class CodeDisplay(msgspec.Struct, frozen=True):
    code: str
    display: str

    @classmethod
    def of(cls, code: str, display: str | None = None) -> CodeDisplay:
        return cls(code, label_or_code(display, code))
