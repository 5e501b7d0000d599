# ruff: noqa: E501  (a table: one case and its reason per line)
"""tx-ecosystem cases the facade does not pass, with the reason (see README "FHIR
terminology conformance"). A case that starts passing must be removed from here: the test
fails until it is (a strict expected failure)."""

KNOWN_FAILURES: dict[str, str] = {
    "exclude/exclude-combo": "needs FHIR core value sets and code systems (administrative-gender, publication-status) that the gateway does not bundle",
    "exclude/include-combo": "needs FHIR core value sets and code systems (administrative-gender, publication-status) that the gateway does not bundle",
    "exclude/exclude-gender": "needs FHIR core value sets and code systems (administrative-gender, publication-status) that the gateway does not bundle",
    "exclude/exclude-gender2": "needs FHIR core value sets and code systems (administrative-gender, publication-status) that the gateway does not bundle",
    "overload/expand-all-merged": "the expected expansion gives code2 of version 2.0.0 the display of version 1.0.0 ('Display 2'; version 2.0.0 defines 'Display #2'): the gateway answers each version's own display",
    "overload/expand-enum-good": "the expected expansion gives code2 of version 2.0.0 the display of version 1.0.0 ('Display 2'; version 2.0.0 defines 'Display #2'): the gateway answers each version's own display",
    "overload/expand-enum-bad": "the expected expansion gives code2 of version 2.0.0 the display of version 1.0.0 ('Display 2'; version 2.0.0 defines 'Display #2'): the gateway answers each version's own display",
    "overload/expand-exclude-versioned": "the expected expansion gives code2 of version 2.0.0 the display of version 1.0.0 ('Display 2'; version 2.0.0 defines 'Display #2'): the gateway answers each version's own display",
}
