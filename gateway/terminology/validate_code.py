"""``$validate-code`` for the FHIR facade: a code, a Coding or a CodeableConcept against a
value set or a code system, reported as ``result`` plus the issues found.

Resolves what the pure ``checker`` needs (the value set's closure at the versions it pins,
its members, the coding's code system at the coding's version) through a ``Finder``
(request's inline resources, then cache → SMT → snapshot), then combines the codings of a
CodeableConcept: valid when one of them is in the value set and nothing is in error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from gateway.cache import CacheState, worst
from gateway.errors import NotFound
from gateway.terminology import issues as tx
from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.checker import (
    CodingInput,
    CodingOutcome,
    Options,
    SystemFacts,
    Target,
    check_coding,
)
from gateway.terminology.context import Finder
from gateway.terminology.engine import expand_all
from gateway.terminology.indexed import IndexedCodeSystem, IndexedValueSet
from gateway.terminology.issues import Issue
from gateway.terminology.model import CodeSystem
from gateway.terminology.status import status_issues


@dataclass(slots=True)
class Report:
    result: bool
    issues: list[Issue]
    code: str | None = None
    system: str | None = None
    version: str | None = None
    display: str | None = None
    inactive: bool = False
    unknown_systems: list[str] = field(default_factory=list)
    caused_by: list[str] = field(default_factory=list)
    state: CacheState = CacheState.HIT

    @property
    def message(self) -> str | None:
        texts = [i.text for i in self.issues if i.severity in ("error", "warning")]
        return "; ".join(sorted(texts)) if texts else None


def valueset_label(vs: IndexedValueSet) -> str:
    if vs.source == "request" and vs.url.startswith("urn:gateway:inline"):
        return "(unidentified)"
    return f"{vs.url}|{vs.version}" if vs.version else vs.url


async def _facts(finder: Finder, coding: CodingInput) -> tuple[SystemFacts, CacheState]:
    if not coding.system:
        return SystemFacts(None, []), CacheState.HIT
    own, state = await finder.codesystem(coding.system, coding.version)
    known = finder.versions(coding.system)
    is_valueset = False
    if own is None and not known:
        vs, _ = await finder.valueset(coding.system)
        is_valueset = vs is not None
    return SystemFacts(own, known, is_valueset), state


async def validate_in_valueset(
    finder: Finder,
    vs: IndexedValueSet,
    codings: list[CodingInput],
    options: Options,
    *,
    codeable_concept: bool,
    membership_only: bool = False,
    infer_system: bool = False,
) -> Report:
    aliases = finder.resolver.store.aliases
    resolution = await finder.closure(vs)
    target = Target(label=valueset_label(vs), pins=resolution.pins)
    extra: list[Issue] = [
        tx.error(
            "not-found",
            "not-found",
            f"A definition for the value Set '{ref}' could not be found",
        )
        for ref in resolution.missing_valuesets
    ]
    if extra:
        target.incomplete = target.imports_missing = True
    else:
        try:
            items = expand_all(vs, resolution.closure, aliases)
            target.members = {(aliases.resolve(i.system), i.code): i for i in items}
            if any(len(pins) > 1 for pins in resolution.pins.values()):
                target.by_version = {
                    (aliases.resolve(i.system), i.code, i.version or ""): i for i in items
                }
        except NotFound:
            target.incomplete = True
    closure = resolution.closure
    used = [vs, *closure.valuesets.values(), *closure.codesystems.values()]
    extra.extend(status_issues([*(i.resource for i in used), *_resources(closure.by_version)]))
    outcomes, states = [], [resolution.state]
    if infer_system:
        codings = [_inferred(c, target, aliases) for c in codings]
    for coding in codings:
        facts, state = await _facts(finder, coding)
        states.append(state)
        outcome = check_coding(coding, facts, target, options, aliases)
        if infer_system and not coding.system and target.members is not None:
            _cannot_infer(outcome, target)
        outcomes.append(outcome)
    report = _combine(outcomes, target, codeable_concept, membership_only, extra)
    report.state = worst(*states)
    return report


async def validate_in_codesystem(
    finder: Finder, cs: IndexedCodeSystem | None, coding: CodingInput, options: Options
) -> Report:
    facts, state = await _facts(finder, coding)
    if cs is not None:
        facts = SystemFacts(cs, facts.known)
    outcome = check_coding(coding, facts, Target(), options, finder.resolver.store.aliases)
    used = [facts.own.resource] if facts.own is not None else []
    report = _combine([outcome], Target(), False, False, status_issues(used))
    report.state = state
    return report


def _resources(by_version: dict[tuple[str, str], IndexedCodeSystem]) -> list[CodeSystem]:
    return [cs.resource for cs in by_version.values()]


def _inferred(coding: CodingInput, target: Target, aliases: CanonicalIndex) -> CodingInput:
    """A code without a system takes the system of the value set's member with that code,
    when exactly one system has it (``inferSystem``)."""
    if coding.system or target.members is None:
        return coding
    systems = {item.system for (_, code), item in target.members.items() if code == coding.code}
    if len(systems) != 1:
        return coding
    return dataclasses.replace(coding, system=systems.pop())


def _cannot_infer(outcome: CodingOutcome, target: Target) -> None:
    """``inferSystem`` found no single system for the code: say so (an error), instead of
    the warning that a code without a system has no meaning."""
    code = outcome.coding.code
    systems = sorted({i.system for (_, c), i in (target.members or {}).items() if c == code})
    why = (
        f"value set expansion has multiple matches: [{', '.join(systems)}]"
        if systems
        else "no system in the value set expansion has this code"
    )
    outcome.issues = [i for i in outcome.issues if i.tx_type != "invalid-data"]
    outcome.issues.append(
        tx.error(
            "not-found",
            "cannot-infer",
            f"The System URI could not be determined for the code '{code}' in the ValueSet "
            f"'{target.label}': {why}",
            outcome.coding.path.of("code"),
        )
    )


def _combine(
    outcomes: list[CodingOutcome],
    target: Target,
    codeable_concept: bool,
    membership_only: bool,
    extra: list[Issue],
) -> Report:
    found: list[Issue] = list(extra)
    for outcome in outcomes:
        for issue in outcome.issues:
            if membership_only and issue.tx_type != "not-in-vs":
                continue
            if codeable_concept and issue.tx_type == "not-in-vs":
                issue = tx.information(
                    "code-invalid", "this-code-not-in-vs", issue.text, issue.expression
                )
            found.append(issue)
    in_target = any(o.in_target for o in outcomes)
    if codeable_concept and not in_target and not target.incomplete and target.label:
        found.append(
            tx.error(
                "code-invalid",
                "not-in-vs",
                f"No valid coding was found for the value set '{target.label}'",
            )
        )
    chosen = next((o for o in outcomes if o.in_target), outcomes[0] if outcomes else None)
    result = in_target and not any(i.is_error for i in found)
    report = Report(result, found)
    if chosen is not None:
        report.code, report.system = chosen.code, chosen.system
        report.version, report.display = chosen.version, chosen.display
        report.inactive = chosen.inactive
    for outcome in outcomes:
        if outcome.unknown_system:
            report.unknown_systems.append(outcome.unknown_system)
        if outcome.caused_by:
            report.caused_by.append(outcome.caused_by)
    return report
