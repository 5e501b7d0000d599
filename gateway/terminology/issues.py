"""Issues a ``$validate-code`` reports (the OperationOutcome inside its Parameters).

Each issue has the FHIR issue type (``code``), a tx-issue-type (``tx_type``: the finer
kind the HL7 terminology tests check, e.g. ``not-in-vs``, ``invalid-display``) and the
FHIRPath of the input element it is about (``code``, ``Coding.display``,
``CodeableConcept.coding[1].system``…): a validator uses these to place the message.
"""

from __future__ import annotations

from dataclasses import dataclass

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"


@dataclass(frozen=True, slots=True)
class Issue:
    severity: str  # error | warning | information
    code: str  # FHIR IssueType
    tx_type: str | None
    text: str
    expression: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity in ("error", "fatal")


@dataclass(frozen=True, slots=True)
class Path:
    """Where the coding under validation sits in the request: ``code``/``system``/… when
    given as parameters, ``Coding.x`` for a coding, ``CodeableConcept.coding[i].x``."""

    prefix: str  # "" (loose parameters), "Coding", "CodeableConcept.coding[0]"

    def of(self, element: str) -> str:
        return f"{self.prefix}.{element}" if self.prefix else element

    @property
    def whole(self) -> str:
        return self.prefix or "code"


def error(code: str, tx_type: str | None, text: str, expression: str | None = None) -> Issue:
    return Issue("error", code, tx_type, text, expression)


def warning(code: str, tx_type: str | None, text: str, expression: str | None = None) -> Issue:
    return Issue("warning", code, tx_type, text, expression)


def information(code: str, tx_type: str | None, text: str, expression: str | None = None) -> Issue:
    return Issue("information", code, tx_type, text, expression)


def unknown_system(system: str, version: str | None, known: list[str], where: str) -> Issue:
    if version is None:
        text = (
            f"A definition for CodeSystem {system} could not be found, so the code cannot be "
            "validated"
        )
    else:
        valid = (
            f"Valid versions: {' or '.join(known)}"
            if known
            else "No versions of this code system are known"
        )
        text = (
            f"A definition for CodeSystem '{system}' version '{version}' could not be found, "
            f"so the code cannot be validated. {valid}"
        )
    return error("not-found", "not-found", text, where)


def not_in_valueset(where: str | None, shown: str, valueset: str) -> Issue:
    return error(
        "code-invalid",
        "not-in-vs",
        f"The provided code '{shown}' was not found in the value set '{valueset}'",
        where,
    )


def unknown_code(code: str, system: str, version: str | None, where: str) -> Issue:
    suffix = f" version '{version}'" if version else ""
    return error(
        "code-invalid",
        "invalid-code",
        f"Unknown code '{code}' in the CodeSystem '{system}'{suffix}",
        where,
    )


def version_mismatch(
    system: str, used: str, value: str, where: str, *, pinned: str | None, changed: bool
) -> Issue:
    """The value set's version of ``system`` differs from the coding's own version."""
    if changed:
        text = (
            f"The code system '{system}' version '{used}' resulting from the version "
            f"'{pinned or ''}' in the ValueSet include is different to the one in the value "
            f"('{value}')"
        )
        return error("invalid", "vs-invalid", text, where)
    if pinned is None:
        text = (
            f"The code system '{system}' version '{used}' for the versionless include in the "
            f"ValueSet include is different to the one in the value ('{value}')"
        )
        return warning("invalid", "vs-invalid", text, where)
    text = (
        f"The code system '{system}' version '{used}' in the ValueSet include is different "
        f"to the one in the value ('{value}')"
    )
    return error("invalid", "vs-invalid", text, where)


def version_not_allowed(system: str, version: str, pattern: str, where: str | None) -> Issue:
    return error(
        "exception",
        "version-error",
        f"The version '{version}' is not allowed for system '{system}': required to be "
        f"'{pattern}' by a version-check parameter",
        where,
    )
