"""Which code system version a coding is validated against in a value set, and the
version issues that choice raises (``checker`` calls it; split out for size).

An include pinning a version validates against it (a coding naming another version is an
error); a wildcard pin admits the coding's version; a versionless include takes the
coding's version when it is loaded (a warning when it is not); ``force-system-version``
and the rule-chosen version of a versionless include report a changed version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.terminology import issues as tx
from gateway.terminology.indexed import IndexedCodeSystem, version_order
from gateway.terminology.versions import version_matches

if TYPE_CHECKING:
    from gateway.terminology.checker import (
        CodingInput,
        CodingOutcome,
        Options,
        SystemFacts,
        Target,
    )
    from gateway.terminology.context import Pin


def pick_codesystem(
    coding: CodingInput,
    facts: SystemFacts,
    target: Target,
    options: Options,
    identity: str,
    out: CodingOutcome,
) -> tuple[IndexedCodeSystem | None, bool]:
    """The code system version to validate against (issues about versions added to ``out``),
    and whether value set membership can be decided."""
    system, path, asked = coding.system or "", coding.path, coding.version
    own_known = facts.own is not None and (asked is None or facts.own.version == asked)
    pins = target.pins.get(identity) if target.label is not None else None
    if not pins:
        if own_known:
            return facts.own, True
        out.issues.append(tx.unknown_system(system, asked, facts.known, path.of("system")))
        if facts.known:
            out.caused_by = f"{system}|{asked}"
        else:
            out.unknown_system = system
        return None, True
    pin = next(
        (p for p in pins if p.codesystem is not None and p.codesystem.version == asked),
        pins[0] if asked or len(pins) == 1 else _best_pin(pins, coding, target, identity),
    )
    cs = pin.codesystem
    changed = identity in options.rules.force or (pin.pinned is None and pin.wanted is not None)
    if cs is None:
        out.issues.append(tx.unknown_system(system, pin.wanted, facts.known, path.of("system")))
        out.caused_by = f"{system}|{pin.wanted}"
        if asked and asked != pin.wanted:
            out.issues.append(
                tx.version_mismatch(
                    system,
                    pin.wanted or "",
                    asked,
                    path.of("version"),
                    pinned=pin.pinned,
                    changed=False,
                )
            )
        return (facts.own if own_known else None), False
    if asked and pin.wanted and version_matches(pin.wanted, asked) and own_known:
        return facts.own, True  # the coding's version is one the wildcard admits
    if asked and not version_matches(asked, cs.version):
        if changed:
            out.issues.append(
                tx.version_mismatch(
                    system,
                    pin.wanted or "",
                    asked,
                    path.of("version"),
                    pinned=pin.pinned,
                    changed=True,
                )
            )
        elif pin.pinned:
            out.issues.append(
                tx.version_mismatch(
                    system,
                    cs.version or "",
                    asked,
                    path.of("version"),
                    pinned=pin.pinned,
                    changed=False,
                )
            )
        elif own_known:
            return facts.own, True
        else:
            out.issues.append(
                tx.version_mismatch(
                    system,
                    cs.version or "",
                    asked,
                    path.of("version"),
                    pinned=None,
                    changed=False,
                )
            )
        if not own_known:
            out.issues.append(tx.unknown_system(system, asked, facts.known, path.of("system")))
            out.caused_by = f"{system}|{asked}"
    return cs, True


def _best_pin(pins: list[Pin], coding: CodingInput, target: Target, identity: str) -> Pin:
    """A versionless coding in a value set including several versions of its system: the
    version whose members have the code, then that defines it, whose display matches, latest
    first (what the HL7 overload tests expect: ``code2`` 'Display 2' is version 1.0.0's,
    'Display #2' version 2.0.0's)."""

    def rank(pin: Pin) -> tuple[bool, bool, bool, object]:
        cs = pin.codesystem
        concept = cs.get(coding.code) if cs is not None else None
        shown = coding.display is None or (
            concept is not None
            and (
                concept.display == coding.display
                or any(d.value == coding.display for d in concept.designations)
            )
        )
        version = cs.version if cs else None
        member = (identity, coding.code, version or "") in target.by_version
        return member, concept is not None, shown, version_order(version)

    return max(pins, key=rank)
