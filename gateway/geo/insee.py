"""INSEE commune codes: the one definition of their shape.

Five digits, or ``2A``/``2B`` and three digits in Corsica (``92036``, ``2A004``);
arrondissements have codes of the same shape (``75108``). Every reader of a code (the
geocoder service, ROR zones, the CPTS and search parameters, the ``/v1/rank`` schema) checks
it here; which codes exist, and how arrondissements relate to their city, is the commune
reference's business (``gateway.geo.communes``).
"""

from __future__ import annotations

import re

from gateway.errors import InvalidInput

#: As a pattern string, for schemas (msgspec ``Meta(pattern=…)``, OpenAPI).
INSEE_REGEX = r"^(?:[0-9]{5}|2[AB][0-9]{3})$"
INSEE_CODE = re.compile(INSEE_REGEX)


def normalise_code(code: str) -> str:
    return code.strip().upper()


def parse_insee(text: str, parameter: str = "insee") -> str:
    """A well-formed INSEE commune code (``92036``, ``2A004``), else ``InvalidInput``."""
    code = normalise_code(text)
    if not INSEE_CODE.match(code):
        raise InvalidInput(
            f"Parameter '{parameter}' must be an INSEE commune code: 5 digits, or 2A/2B and "
            "3 digits in Corsica",
            parameter=parameter,
        )
    return code
