"""Several versions of one code system in one value set (the ``overload`` tests).

NOS are republished monthly, so a value set may include two versions of one code system
(``1.0.0`` and ``2.0.0``): each version's codes are then distinct members (keyed by system,
code and version), and an exclude only removes the codes of the version it names. With a
single included version, members stay keyed by system and code (an exclude of another
version still removes the code, which is what the HL7 tests expect, and the common case
costs nothing). The value set's ``versionsMatch`` expansion parameter overrides the choice:
``true`` merges the versions (one member per code, the last include wins), ``false`` keeps
them apart even with one included version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.model import Compose

if TYPE_CHECKING:
    from gateway.terminology.engine import Closure


def expansion_parameter(compose: Compose | None, name: str) -> Any:
    """The value of the compose's ``valueset-expansion-parameter`` extension ``name``
    (None when absent or malformed: a client's inline value set may say anything)."""
    for ext in compose.extension if compose is not None else []:
        subs = ext.get("extension")
        listed = subs if isinstance(subs, list) else []
        parts = {e.get("url"): e for e in listed if isinstance(e, dict)}
        if parts.get("name", {}).get("valueCode") != name:
            continue
        value = parts.get("value", {})
        return next((v for k, v in value.items() if k.startswith("value")), None)
    return None


def versions_match(compose: Compose | None) -> bool | None:
    value = expansion_parameter(compose, "versionsMatch")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def versioned_systems(
    compose: Compose, closure: Closure, aliases: CanonicalIndex
) -> frozenset[str]:
    """The identities whose members are keyed by version in this compose."""
    match = versions_match(compose)
    if match is True:
        return frozenset()
    seen: dict[str, set[str]] = {}
    _included_versions(compose, closure, aliases, seen, set())
    if match is False:
        return frozenset(seen)
    return frozenset(identity for identity, versions in seen.items() if len(versions) > 1)


def _included_versions(
    compose: Compose,
    closure: Closure,
    aliases: CanonicalIndex,
    seen: dict[str, set[str]],
    visited: set[int],
) -> None:
    """The code system versions ``compose`` includes, directly or through the value sets
    it imports (an import of ``CS|2`` beside an include of ``CS|1`` is two versions too)."""
    for include in compose.include:
        if include.system:
            identity = aliases.resolve(include.system)
            cs = closure.codesystem_for(identity, include.version)
            seen.setdefault(identity, set()).add(cs.version or "" if cs else include.version or "")
        for ref in include.value_set:
            nested = closure.valueset_for(ref, aliases)
            inner = nested.resource.compose if nested is not None else None
            if nested is None or inner is None or id(nested) in visited:
                continue
            visited.add(id(nested))
            _included_versions(inner, closure, aliases, seen, visited)
