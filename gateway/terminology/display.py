"""Displays by language: which display to return, and whether a given display is valid.

A concept's ``display`` is in the code system's language; designations may add other
languages. With no language asked for, any of them is valid. With languages asked for
(``displayLanguage``, ``Accept-Language``, the value set's own), only the labels in those
languages are, and the display returned is the first of them; a code with no label in those
languages falls back to its default display (then saying so).

Comparison is exact apart from case: "Display  1" (two spaces) is not "Display 1".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.terminology import issues as tx
from gateway.terminology.indexed import FlatConcept, IndexedCodeSystem
from gateway.terminology.issues import Issue
from gateway.terminology.status import standards_status


@dataclass(slots=True)
class DisplayVerdict:
    display: str
    issues: list[Issue] = field(default_factory=list)


def parse_languages(value: str | None) -> tuple[str, ...]:
    """``de,it;q=0.5, *`` → (``de``, ``it``, ``*``); quality weights keep the given order."""
    if not value:
        return ()
    out = []
    for part in value.split(","):
        tag = part.split(";")[0].strip()
        if tag:
            out.append(tag)
    return tuple(out)


def _matches(wanted: str, language: str | None) -> bool:
    if language is None:
        return False
    wanted, language = wanted.lower(), language.lower()
    return (
        wanted == language or language.startswith(wanted + "-") or wanted.startswith(language + "-")
    )


def labels_for(
    cs: IndexedCodeSystem, concept: FlatConcept, languages: tuple[str, ...]
) -> tuple[str, list[str], bool]:
    """(display to return, labels valid in ``languages``, whether any label is in them)."""
    default_language = getattr(cs.resource, "language", None)
    every = [concept.display, *(d.value for d in concept.designations)]
    if not languages or languages == ("*",):
        return concept.display, every, True
    valid: list[str] = []
    best: str | None = None
    for wanted in languages:
        if wanted == "*":
            valid.extend(every)
            best = best or concept.display
            continue
        if default_language is None or _matches(wanted, default_language):
            valid.append(concept.display)
            best = best or concept.display
        for designation in concept.designations:
            if _matches(wanted, designation.language):
                valid.append(designation.value)
                best = best or designation.value
    if best is None:
        return concept.display, every, False
    return best, valid, True


def check_display(
    cs: IndexedCodeSystem, concept: FlatConcept, given: str | None, languages: tuple[str, ...]
) -> DisplayVerdict:
    display, valid, any_in_language = labels_for(cs, concept, languages)
    verdict = DisplayVerdict(display)
    if not given:
        return verdict
    folded = given.casefold()
    ok = any(label == given or label.casefold() == folded for label in valid)
    where = f"{cs.url}#{concept.code}"
    asked = ",".join(languages)
    if not any_in_language:
        if ok:
            verdict.issues.append(
                tx.information(
                    "invalid",
                    "invalid-display",
                    f"There are no valid display names found for the code {where} for "
                    f"language(s) '{asked}'. The display is '{given}' which is a valid display "
                    "for the default language",
                )
            )
        else:
            verdict.issues.append(
                tx.error(
                    "invalid",
                    "invalid-display",
                    f"Wrong Display Name '{given}' for {where}. There are no valid display "
                    f"names found for language(s) '{asked}'. Default display is '{display}'",
                )
            )
        return verdict
    if not ok:
        verdict.issues.append(
            tx.error(
                "invalid",
                "invalid-display",
                f"Wrong Display Name '{given}' for {where}. Valid display is '{display}' (for "
                f"the language(s) '{asked or '--'}')",
            )
        )
    elif (retired := _retired(concept, folded)) is not None:
        verdict.issues.append(
            tx.warning(
                "invalid",
                "display-comment",
                f"'{given}' is no longer considered a correct display for code "
                f"'{concept.code}' (status = {retired}). The correct display is one of "
                f'"{display}".',
            )
        )
    return verdict


def _retired(concept: FlatConcept, folded: str) -> str | None:
    """The status of the withdrawn/deprecated designation ``folded`` is (and nothing current
    is), else None: still a valid display, with a warning."""
    if concept.display.casefold() == folded:
        return None
    statuses = [
        standards_status(d.extension) for d in concept.designations if d.value.casefold() == folded
    ]
    return statuses[0] if statuses and all(statuses) else None
