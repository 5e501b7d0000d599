"""``$validate-code`` against a CodeSystem or an expanded ValueSet, with display check.

Displays compare accent-, case- and punctuation-insensitively against the display and every
designation; an inactive (deprecated) code validates, with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.engine import Closure, expand_all
from gateway.terminology.indexed import IndexedCodeSystem, IndexedValueSet
from gateway.text import normalise


@dataclass(frozen=True, slots=True)
class Validation:
    result: bool
    message: str | None
    display: str | None
    system: str | None
    code: str
    version: str | None
    inactive: bool = False


def _display_ok(display: str, concept_labels: list[str]) -> bool:
    wanted = normalise(display)
    return any(normalise(label) == wanted for label in concept_labels)


def validate_in_codesystem(cs: IndexedCodeSystem, code: str, display: str | None) -> Validation:
    concept = cs.get(code)
    if concept is None:
        return Validation(
            False, f"Unknown code '{code}' in code system {cs.url}", None, cs.url, code, cs.version
        )
    labels = [concept.display, *(d.value for d in concept.designations)]
    return _validation(
        concept.display, labels, concept.inactive, cs.url, concept.code, cs.version, display
    )


def _validation(
    best: str,
    labels: list[str],
    inactive: bool,
    system: str,
    code: str,
    version: str | None,
    display: str | None,
) -> Validation:
    if display and not _display_ok(display, labels):
        return Validation(
            False,
            f"Wrong display '{display}' for {system}#{code}: expected '{best}'",
            best,
            system,
            code,
            version,
            inactive,
        )
    message = f"Code '{code}' is inactive (deprecated) in {system}" if inactive else None
    return Validation(True, message, best, system, code, version, inactive)


def validate_in_valueset(
    vs: IndexedValueSet,
    closure: Closure,
    aliases: CanonicalIndex,
    *,
    system: str | None,
    code: str,
    display: str | None,
    version: str | None = None,
) -> Validation:
    identity = aliases.resolve(system) if system else None
    folded = code.casefold()
    for item in expand_all(vs, closure, aliases):
        if identity and aliases.resolve(item.system) != identity:
            continue
        if item.code != code and not (
            item.concept is not None and item.fold_case and item.code.casefold() == folded
        ):
            continue
        labels = [item.display, *(d.value for d in item.designations)]
        if item.concept is not None:
            labels.append(item.concept.display)
        return _validation(
            item.display, labels, item.inactive, item.system, item.code, item.version, display
        )
    where = f"{system}#{code}" if system else code
    return Validation(
        False, f"Code {where} is not in value set {vs.url}", None, system, code, version
    )
