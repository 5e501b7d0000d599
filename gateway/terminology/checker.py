"""``$validate-code`` of one coding, with the issues a FHIR validator expects.

Pure: the value set's closure, its members and what is known of the coding's code system
are resolved beforehand (``gateway.terminology.validate_code``). Versions follow the HL7
terminology tests: an include pinning a version validates against that version (a coding
naming another one is an error), a versionless include takes the coding's version when it
is known, request rules (``gateway.terminology.versions``) override both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.terminology import issues as tx
from gateway.terminology.canonical import CanonicalIndex
from gateway.terminology.context import Pin
from gateway.terminology.display import check_display
from gateway.terminology.engine import ExpansionItem
from gateway.terminology.indexed import FlatConcept, IndexedCodeSystem
from gateway.terminology.issues import Issue, Path
from gateway.terminology.pins import pick_codesystem
from gateway.terminology.supplements import is_supplement
from gateway.terminology.versions import NO_RULES, VersionRules


@dataclass(frozen=True, slots=True)
class CodingInput:
    system: str | None
    version: str | None
    code: str
    display: str | None
    path: Path


@dataclass(frozen=True, slots=True)
class SystemFacts:
    """The coding's code system at the coding's version (latest if none), and the versions
    loaded; ``is_valueset``: the "system" is in fact a value set's URL."""

    own: IndexedCodeSystem | None
    known: list[str]
    is_valueset: bool = False


@dataclass(frozen=True, slots=True)
class Options:
    rules: VersionRules = NO_RULES
    active_only: bool = False
    lenient_display: bool = False
    abstract_ok: bool = True
    languages: tuple[str, ...] = ()


@dataclass(slots=True)
class Target:
    """What the coding is validated against: a value set (``label`` ``url|version``, its
    members by (identity, code), the pins of its includes), or one code system."""

    label: str | None = None
    members: dict[tuple[str, str], ExpansionItem] | None = None
    pins: dict[str, list[Pin]] = field(default_factory=dict)
    #: members are unknown (a value set it imports or a version it pins is missing)
    incomplete: bool = False
    #: a value set it imports is missing (any system may be in it)
    imports_missing: bool = False
    #: members by (identity, code, version), for systems included in several versions
    by_version: dict[tuple[str, str, str], ExpansionItem] = field(default_factory=dict)

    def member(
        self, identity: str, code: str, cs: IndexedCodeSystem | None
    ) -> ExpansionItem | None:
        """The member for ``code`` of the version validated against: when the value set
        includes several versions of the system, a code of another version is not one."""
        pins = self.pins.get(identity, [])
        if cs is not None and len({p.codesystem.version for p in pins if p.codesystem}) > 1:
            return self.by_version.get((identity, code, cs.version or ""))
        return (self.members or {}).get((identity, code))


@dataclass(slots=True)
class CodingOutcome:
    coding: CodingInput
    issues: list[Issue] = field(default_factory=list)
    in_target: bool = False
    system: str | None = None
    version: str | None = None
    code: str | None = None
    display: str | None = None
    inactive: bool = False
    unknown_system: str | None = None
    caused_by: str | None = None

    @property
    def ok(self) -> bool:
        return self.in_target and not any(i.is_error for i in self.issues)


def check_coding(
    coding: CodingInput,
    facts: SystemFacts,
    target: Target,
    options: Options,
    aliases: CanonicalIndex,
) -> CodingOutcome:
    out = CodingOutcome(coding, system=coding.system, code=coding.code)
    path, system = coding.path, coding.system
    shown = f"{system or ''}{'|' + coding.version if coding.version else ''}#{coding.code}"
    if coding.display:
        shown += f" ('{coding.display}')"
    in_valueset = target.label is not None
    if not system:
        out.issues.append(
            tx.warning(
                "invalid",
                "invalid-data",
                "Coding has no system. A code with no system has no defined meaning, and it "
                "cannot be validated. A system should be provided",
                path.prefix or "Coding",
            )
        )
        if in_valueset:
            out.issues.append(tx.not_in_valueset(path.of("code"), shown, target.label or ""))
        return out
    if facts.is_valueset:
        out.issues.append(
            tx.error(
                "invalid",
                "invalid-data",
                f"The Coding references a value set, not a code system ('{system}')",
                path.of("system"),
            )
        )
        if in_valueset:
            out.issues.append(tx.not_in_valueset(path.of("code"), shown, target.label or ""))
        return out
    if facts.own is not None and is_supplement(facts.own):
        own = facts.own
        out.issues.append(
            tx.error(
                "invalid",
                "invalid-data",
                f"CodeSystem {own.url}|{own.version} is a supplement, so can't be used as a "
                f"value in {path.prefix or 'Coding'}.system",
                path.of("system"),
            )
        )
        out.unknown_system = system
        if in_valueset:
            out.issues.append(tx.not_in_valueset(path.of("code"), shown, target.label or ""))
        return out
    if ":" not in system:
        out.issues.append(
            tx.error(
                "invalid",
                "invalid-data",
                f"{path.prefix or 'Coding'}.system must be an absolute reference, not a local "
                "reference",
                path.of("system"),
            )
        )
    identity = aliases.resolve(system)
    cs, membership_known = pick_codesystem(coding, facts, target, options, identity, out)
    if cs is not None:
        out.version = cs.version
        pattern = options.rules.allowed(identity, cs.version)
        if pattern is not None and cs.version and membership_known:
            out.issues.append(
                tx.version_not_allowed(system, cs.version, pattern, path.of("version"))
            )
        concept = cs.get(coding.code)
        if concept is None:
            _unknown_code(cs, coding, out)
        else:
            _known_code(cs, concept, coding, options, out)
    if not in_valueset:
        out.in_target = cs is not None and cs.get(coding.code) is not None
        return out
    if not membership_known:
        return out
    if target.incomplete and (target.imports_missing or identity in target.pins):
        return out  # members unknown; a system the value set does not name is not one
    if cs is not None and cs.resource.content == "fragment" and cs.get(coding.code) is None:
        out.in_target = True  # a fragment does not say the code does not exist
        return out
    member = target.member(identity, coding.code, cs)
    if member is None and cs is not None and cs.folded:
        concept = cs.get(coding.code)
        member = target.member(identity, concept.code, cs) if concept else None
    if member is None and cs is not None and options.active_only:
        concept = cs.get(coding.code)
        if concept is not None and concept.inactive:
            member = _InactiveMember  # reported just below, as the code is not active
    if member is not None and options.active_only and member.inactive:
        out.issues.append(
            tx.error(
                "business-rule",
                "code-rule",
                f"The concept '{coding.code}' is valid but is not active",
                path.of("code"),
            )
        )
        member = None
    if member is not None and not options.abstract_ok and _not_selectable(member.concept):
        out.issues.append(
            tx.error(
                "business-rule",
                "code-rule",
                f"Code '{coding.code}' is abstract, and not allowed in this context",
                path.of("code"),
            )
        )
        member = None
    out.in_target = member is not None
    if member is not None and member.deprecated_in_valueset:
        out.issues.append(
            tx.warning(
                "business-rule",
                "code-comment",
                f"The presence of the concept '{coding.code}' in the system '{system}' in the "
                f"value set {target.label} is marked with a status of deprecated and its use "
                "should be reviewed",
                path.of("code"),
            )
        )
    if member is None:
        out.issues.append(tx.not_in_valueset(path.of("code"), shown, target.label or ""))
    return out


def _unknown_code(cs: IndexedCodeSystem, coding: CodingInput, out: CodingOutcome) -> None:
    where = coding.path.of("code")
    if cs.resource.content == "fragment":
        out.issues.append(
            tx.warning(
                "code-invalid",
                "invalid-code",
                f"Unknown Code '{coding.code}' in the CodeSystem '{cs.url}' version "
                f"'{cs.version}' - note that the code system is labeled as a fragment, so the "
                "code may be valid in some other fragment",
                where,
            )
        )
        return
    out.issues.append(tx.unknown_code(coding.code, cs.url, cs.version, where))


def _known_code(
    cs: IndexedCodeSystem,
    concept: FlatConcept,
    coding: CodingInput,
    options: Options,
    out: CodingOutcome,
) -> None:
    path = coding.path
    if concept.code != coding.code:
        out.issues.append(
            tx.information(
                "business-rule",
                "code-rule",
                f"The code '{coding.code}' differs from the correct code '{concept.code}' by "
                "case. Although the code system is case insensitive, implementers are strongly "
                "encouraged to use the correct case anyway",
                path.of("code"),
            )
        )
        # The FHIR facade echoes the code as given (with this information issue), as the HL7
        # tests expect; the /v1 API answers the code system's spelling (SM54 for sm54),
        # which is what NOS clients store (``gateway.terminology.validation``).
    verdict = check_display(cs, concept, coding.display, options.languages)
    out.display = verdict.display
    for issue in verdict.issues:
        severity = "warning" if options.lenient_display and issue.is_error else issue.severity
        out.issues.append(
            Issue(severity, issue.code, issue.tx_type, issue.text, path.of("display"))
        )
    if concept.inactive:
        out.inactive = True
        out.issues.append(
            tx.warning(
                "business-rule",
                "code-comment",
                f"The concept '{concept.code}' has a status of {concept.status} and its use "
                "should be reviewed",
                path.prefix or "code",
            )
        )


def _not_selectable(concept: FlatConcept | None) -> bool:
    return concept is not None and concept.abstract


#: stands for a code that would be a member were it active (activeOnly)
_InactiveMember = ExpansionItem("", None, "", "", True, (), ())
