"""Compares a facade answer with a tx-ecosystem expected response, on meaning.

The suite's own tool (the HL7 validator's ``-txtests``) compares whole resources, message
texts included (per server, through ``messages-<server>.json``). We compare what a client
acts on: error vs success (and the issue types of an error), ``$expand`` codes and
``total``; ``$validate-code`` ``result``, ``code``, ``system``, ``version``, ``display``,
``inactive`` and the issues of the OperationOutcome inside the Parameters (severity,
issue type, tx-issue-type); ``$lookup`` display, name, version and definition;
``$translate`` result and matches. Expected entries marked ``$optional$`` are not required.

Each ``compare_*`` returns the differences found (empty: the case passes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
#: R4 ``equivalence`` ↔ R5 ``relationship`` (a match may be stated either way).
_RELATION = {
    "equivalent": "equivalent",
    "equal": "equivalent",
    "wider": "source-is-narrower-than-target",
    "subsumes": "source-is-narrower-than-target",
    "narrower": "source-is-broader-than-target",
    "specializes": "source-is-broader-than-target",
    "relatedto": "related-to",
    "inexact": "related-to",
    "unmatched": "not-related-to",
    "disjoint": "not-related-to",
}

Json = dict[str, Any]


def optional(item: Json) -> bool:
    flag = item.get("$optional$")
    # "!tx.fhir.org": required only of tx.fhir.org; "version:4"/"warning:…": tolerated.
    return bool(flag)


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and expected.startswith("$choice:") and expected.endswith("$"):
        return actual in expected[len("$choice:") : -1].split("|")
    if isinstance(expected, str) and expected.startswith("$") and expected.endswith("$"):
        return actual is not None  # $instant$, $uuid$, $version$, …: any value
    return bool(expected == actual)


def _value(param: Json) -> Any:
    for key, value in param.items():
        if key.startswith("value"):
            return value
    return param.get("resource")


def _params(body: Json) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for param in body.get("parameter", []):
        out.setdefault(param["name"], []).append(param)
    return out


def issue_keys(outcome: Json | None, *, with_optional: bool = False) -> list[tuple[str, ...]]:
    """(severity, code, tx-issue-type) of each issue, sorted."""
    keys = []
    for issue in (outcome or {}).get("issue", []):
        if optional(issue) and not with_optional:
            continue
        tx_type = next(
            (
                c.get("code", "")
                for c in issue.get("details", {}).get("coding", [])
                if c.get("system") == TX_ISSUE_TYPE
            ),
            "",
        )
        keys.append((issue.get("severity", ""), issue.get("code", ""), tx_type))
    return sorted(keys)


def _same_issues(expected: Json | None, actual: Json | None) -> bool:
    wanted = issue_keys(expected)
    tolerated = set(issue_keys(expected, with_optional=True)) - set(wanted)
    got = [g for g in issue_keys(actual) if g not in tolerated]
    for w in wanted:
        hit = next(
            (g for g in got if w[0] == g[0] and _matches(w[1], g[1]) and w[2] in ("", g[2])),
            None,
        )
        if hit is None:
            return False
        got.remove(hit)
    return not got


def compare_error(expected: Json, status: int, actual: Json) -> list[str]:
    if status < 400 or actual.get("resourceType") != "OperationOutcome":
        return [f"expected an error (OperationOutcome), got {status} {actual.get('resourceType')}"]
    wanted = {i["code"] for i in expected.get("issue", []) if not optional(i)}
    got = {i.get("code") for i in actual.get("issue", [])}
    if not any(_matches(w, g) for w in wanted for g in got) and wanted:
        return [f"issue types {sorted(got)} instead of {sorted(wanted)}"]
    return []


def _flatten(contains: list[Json], *, with_optional: bool = True) -> Iterator[Json]:
    for item in contains:
        if with_optional or not optional(item):
            yield item
        yield from _flatten(item.get("contains", []), with_optional=with_optional)


def compare_expand(expected: Json, actual: Json) -> list[str]:
    if actual.get("resourceType") != "ValueSet":
        return [f"expected a ValueSet, got {actual.get('resourceType')}: {_text(actual)}"]
    want_exp, got_exp = expected.get("expansion", {}), actual.get("expansion", {})
    wanted = list(_flatten(want_exp.get("contains", [])))
    # One code in several versions of its system (``overload``): members differ by version.
    pairs = [(c.get("system"), c.get("code")) for c in wanted]
    by_version = len(set(pairs)) < len(pairs)

    def key(c: Json) -> tuple[Any, ...]:
        base = (c.get("system"), c.get("code"))
        return (*base, c.get("version")) if by_version else base

    required = {key(c): c for c in wanted if not optional(c)}
    allowed = {key(c) for c in wanted}
    got = {key(c): c for c in _flatten(got_exp.get("contains", []))}
    diffs = []
    if missing := set(required) - set(got):
        diffs.append(f"missing codes {sorted(missing)}")
    if extra := set(got) - allowed:
        diffs.append(f"unexpected codes {sorted(extra)}")
    if "total" in want_exp and want_exp["total"] != got_exp.get("total"):
        diffs.append(f"total {got_exp.get('total')} instead of {want_exp['total']}")
    for key, item in required.items():
        found = got.get(key)
        if found is not None and "display" in item and item["display"] != found.get("display"):
            diffs.append(f"display of {key[1]} {found.get('display')!r} not {item['display']!r}")
    return diffs


_VALIDATION_FIELDS = ("result", "code", "system", "version", "display", "inactive")


def compare_validation(expected: Json, actual: Json) -> list[str]:
    if expected.get("resourceType") == "OperationOutcome":
        return compare_error(
            expected, 400 if actual.get("resourceType") != "Parameters" else 200, actual
        )
    if actual.get("resourceType") != "Parameters":
        return [f"expected Parameters, got {actual.get('resourceType')}: {_text(actual)}"]
    want, got = _params(expected), _params(actual)
    diffs = []
    for name in _VALIDATION_FIELDS:
        entries = [p for p in want.get(name, []) if not optional(p)]
        if not entries:
            continue
        value = _value(entries[0])
        actual_value = _value(got[name][0]) if name in got else None
        if not _matches(value, actual_value):
            diffs.append(f"{name} {actual_value!r} instead of {value!r}")
    want_issues = _value(want["issues"][0]) if "issues" in want else None
    got_issues = _value(got["issues"][0]) if "issues" in got else None
    if not _same_issues(want_issues, got_issues):
        diffs.append(f"issues {issue_keys(got_issues)} instead of {issue_keys(want_issues)}")
    return diffs


_LOOKUP_FIELDS = ("name", "version", "display", "definition", "abstract")


def compare_lookup(expected: Json, actual: Json) -> list[str]:
    if actual.get("resourceType") != "Parameters":
        return [f"expected Parameters, got {actual.get('resourceType')}: {_text(actual)}"]
    want, got = _params(expected), _params(actual)
    diffs = []
    for name in _LOOKUP_FIELDS:
        entries = [p for p in want.get(name, []) if not optional(p)]
        if entries and (name not in got or not _matches(_value(entries[0]), _value(got[name][0]))):
            diffs.append(
                f"{name} {_value(got[name][0]) if name in got else None!r} "
                f"instead of {_value(entries[0])!r}"
            )
    return diffs


def _match_keys(body: Json) -> set[tuple[str, str, str]]:
    out = set()
    for match in _params(body).get("match", []):
        parts = {p["name"]: _value(p) for p in match.get("part", [])}
        concept = parts.get("concept") or {}
        relation = parts.get("relationship") or parts.get("equivalence") or ""
        out.add(
            (concept.get("system", ""), concept.get("code", ""), _RELATION.get(relation, relation))
        )
    return out


def compare_translate(expected: Json, actual: Json) -> list[str]:
    if actual.get("resourceType") != "Parameters":
        return [f"expected Parameters, got {actual.get('resourceType')}: {_text(actual)}"]
    diffs = []
    want_result = _value(_params(expected)["result"][0])
    got_result = _value(_params(actual).get("result", [{}])[0])
    if want_result != got_result:
        diffs.append(f"result {got_result} instead of {want_result}")
    if _match_keys(expected) != _match_keys(actual):
        diffs.append(f"matches {sorted(_match_keys(actual))} not {sorted(_match_keys(expected))}")
    return diffs


def compare_batch(expected: Json, actual: Json) -> list[str]:
    want = [_value(p) for p in _params(expected).get("validation", [])]
    got = [_value(p) for p in _params(actual).get("validation", [])]
    if len(want) != len(got):
        return [f"{len(got)} validations instead of {len(want)}: {_text(actual)}"]
    diffs = []
    for index, (w, g) in enumerate(zip(want, got, strict=True)):
        diffs.extend(f"#{index}: {d}" for d in compare_validation(w, g))
    return diffs


def _text(body: Json) -> str:
    if body.get("resourceType") == "OperationOutcome":
        return "; ".join(i.get("details", {}).get("text", "") for i in body.get("issue", []))
    return ""


def compare(operation: str, expected: Json, status: int, actual: Json) -> list[str]:
    if operation == "batch-validate":
        return compare_batch(expected, actual)
    if expected.get("resourceType") == "OperationOutcome":
        return compare_error(expected, status, actual)
    if status >= 400:
        return [f"error {status}: {_text(actual)}"]
    if operation == "expand":
        return compare_expand(expected, actual)
    if operation == "lookup":
        return compare_lookup(expected, actual)
    if operation == "translate":
        return compare_translate(expected, actual)
    return compare_validation(expected, actual)
