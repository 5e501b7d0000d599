"""Checks a mapping's NOS codes against the loaded terminology snapshot."""

from __future__ import annotations

from gateway.terminology.store import TerminologyStore

_REPLACED_BY = {"replacedBy", "replaced-by"}


class CodeChecker:
    """``problem(nos, code)``: ``None`` when the code exists and is active, else what is
    wrong in words a data steward understands (naming the replacement when the NOS gives
    one). ``unverifiable(nos, code)``: why a code cannot be checked here (the NOS is not in
    the snapshot, or only part of it is and the code is not in that part): a warning, as
    the code may well exist on the terminology server."""

    def __init__(self, store: TerminologyStore) -> None:
        self.store = store

    def has_nos(self, nos: str) -> bool:
        return self.store.codesystem(nos) is not None or self.store.valueset(nos) is not None

    def display(self, nos: str, code: str) -> str | None:
        cs = self.store.codesystem(nos)
        concept = cs.get(code) if cs is not None else None
        return concept.display if concept is not None else None

    def unverifiable(self, nos: str, code: str) -> str | None:
        cs = self.store.codesystem(nos)
        if cs is None:
            return f"{nos} is not in the terminology snapshot: code '{code}' is not checked"
        if cs.get(code) is None and not cs.complete:
            return f"code '{code}' is not in the part of {nos} the snapshot holds: not checked"
        return None

    def problem(self, nos: str, code: str) -> str | None:
        cs = self.store.codesystem(nos)
        if cs is None:
            return None  # see unverifiable()
        concept = cs.get(code)
        if concept is None:
            return None if not cs.complete else f"code '{code}' does not exist in {nos}"
        if not concept.inactive:
            return None
        replacement = next(
            (
                p.value_code or (p.value_coding.code if p.value_coding else None)
                for p in concept.properties
                if p.code in _REPLACED_BY
            ),
            None,
        )
        then = (
            f"; use {replacement} ({self.display(nos, replacement) or 'see the NOS'}) instead"
            if replacement
            else "; the NOS gives no replacement: choose another code"
        )
        return f"code '{code}' ({concept.display}) of {nos} is {concept.status}{then}"
