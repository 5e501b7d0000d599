"""``ConceptMap/$translate`` of the FHIR facade: R4 (``system``/``code``/``coding``,
``targetsystem``) and R5 parameter names (``sourceSystem``/``sourceCode``/``sourceCoding``,
``targetSystem``; ``targetCode`` asks the reverse question)."""

from __future__ import annotations

from typing import Any

from gateway.errors import InvalidInput
from gateway.terminology.service import TerminologyService
from gateway.web import fhir_format as fmt
from gateway.web.fhir_params import OperationParams


async def translate(terminology: TerminologyService, params: OperationParams) -> dict[str, Any]:
    target = params.text("targetsystem", "targetSystem")
    target_code = params.text("targetCode")
    if target_code and target:
        # R5: which source concepts map to this target concept
        matches = await terminology.translate_reverse(
            target=target,
            code=target_code,
            url=params.text("url"),
            source=params.text("sourceSystem"),
        )
        return fmt.translate_parameters(matches.value)
    if params.has("sourceCode") or params.has("sourceCoding"):
        coding = params.coding("sourceCoding")
        system = params.text("sourceSystem") or (coding.system if coding else None)
        code = params.text("sourceCode") or (coding.code if coding else None) or ""
    else:
        system, code = params.system_and_code(("system",))
    if not system:
        raise InvalidInput("Parameter 'system' (or 'coding') is required", parameter="system")
    matches = await terminology.translate(
        system=system, code=code, url=params.text("url"), target=target
    )
    return fmt.translate_parameters(matches.value)
