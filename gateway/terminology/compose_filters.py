"""Compose filters of a ValueSet (``include.filter``) evaluated on one concept.

Supported: ``concept``/``code`` with ``is-a``, ``descendent-of``, ``child-of``, ``in``,
``regex``; any property with ``=``, ``in``, ``not-in`` or ``regex`` (``status`` and
``inactive`` included).
Anything else is a clear 422, as is an invalid regex in the resource.
"""

from __future__ import annotations

import re
from functools import lru_cache

from gateway.errors import InvalidInput, UnsupportedOperation
from gateway.terminology.indexed import FlatConcept, IndexedCodeSystem
from gateway.terminology.model import ValueSetFilter


def _ancestors(cs: IndexedCodeSystem, concept: FlatConcept) -> list[str]:
    out: list[str] = []
    node = cs.get(concept.parent) if concept.parent else None
    while node is not None and node.code not in out:
        out.append(node.code)
        node = cs.get(node.parent) if node.parent else None
    return out


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UnsupportedOperation(
            f"The value set has an invalid regex filter {pattern!r}: {exc}"
        ) from None


def _text(value: object) -> str:
    # FHIR booleans are "true"/"false", not Python's "True"/"False"
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_filters(system: str, filters: list[ValueSetFilter]) -> None:
    """Refuses a filter without a value (an invalid value set, not an empty expansion)."""
    for f in filters:
        if f.value is None:
            raise InvalidInput(
                f"The system {system} filter with property = {f.property}, op = {f.op} has "
                "no value",
                parameter="url",
            )


def filter_match(
    cs: IndexedCodeSystem, concept: FlatConcept, prop: str, op: str, value: str
) -> bool:
    if prop in {"concept", "code"}:
        if op == "is-a":
            return concept.code == value or value in _ancestors(cs, concept)
        if op == "descendent-of":
            return value in _ancestors(cs, concept)
        if op == "child-of":
            return concept.parent == value
        if op == "in":
            return concept.code in {v.strip() for v in value.split(",")}
        if op == "regex":
            return _regex(value).fullmatch(concept.code) is not None
    if op in {"=", "regex", "in", "not-in"}:
        if prop == "status":
            actual = [concept.status]
        elif prop == "inactive":
            actual = [str(concept.inactive).lower()]
        else:
            actual = [_text(p.value()[1]) for p in concept.properties if p.code == prop]
        if op == "=":
            return value in actual
        if op in {"in", "not-in"}:
            listed = {v.strip() for v in value.split(",")}
            return any(a in listed for a in actual) == (op == "in")
        pattern = _regex(value)
        return any(pattern.fullmatch(a) is not None for a in actual)
    raise UnsupportedOperation(
        f"The value set uses a compose filter '{prop} {op}' that this server does not support"
    )
