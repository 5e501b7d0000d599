"""The FHIR facade's operations, shared by their GET and POST routes (``gateway.web.fhir``):
each reads its parameters from the query or the ``Parameters`` body and answers FHIR JSON."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response.base import ASGIResponse

from gateway.errors import InvalidInput
from gateway.terminology.service import TerminologyService
from gateway.terminology.supplements import applies_to, supplemented
from gateway.web import fhir_expand, fhir_validate
from gateway.web import fhir_format as fmt
from gateway.web.deps import encoded, fhir_response
from gateway.web.fhir_outcome import report_parameters
from gateway.web.fhir_params import OperationParams

FhirRequest = Request[Any, Any, Any]


async def params_of(request: FhirRequest) -> OperationParams:
    if request.method == "POST":
        return OperationParams.from_body(await request.body())
    return OperationParams.from_query(request.query_params.dict())


async def lookup(request: FhirRequest, terminology: TerminologyService) -> ASGIResponse:
    params = await params_of(request)
    system, code = params.system_and_code(("system",))
    if not system:
        raise InvalidInput("Parameter 'system' (or 'coding') is required", parameter="system")
    supplements = []
    if params.has("useSupplement"):
        # rare: looked up only when asked, so the cached $lookup stays a dict access
        supplements = await fhir_validate.requested_supplements(terminology, params)
    found = await terminology.lookup(system, code, params.text("version"))
    cs, concept, state = found.value.codesystem, found.value.concept, found.state
    applied = [s for s in supplements if applies_to(s, cs)]
    if applied:  # the supplements' designations and properties join the answer
        cs = supplemented(cs, applied)
        concept = cs.get(concept.code) or concept
    wanted = params.texts("property")
    body = encoded(
        cs.memo,
        ("$lookup", concept.code, tuple(wanted)),
        lambda: fmt.lookup_parameters(cs, concept, wanted),
    )
    return fhir_response(body, state)


async def validate(
    request: FhirRequest, terminology: TerminologyService, *, valueset: bool
) -> ASGIResponse:
    """``CodeSystem/$validate-code``, or ``ValueSet/$validate-code`` when ``valueset``."""
    params = await params_of(request)
    check = fhir_validate.validate_vs if valueset else fhir_validate.validate_cs
    report = await check(terminology, params, request.headers.get("accept-language"))
    return fhir_response(report_parameters(report), report.state)


async def expand(request: FhirRequest, terminology: TerminologyService) -> ASGIResponse:
    params = await params_of(request)
    limit = fhir_expand.expansion_limit(
        terminology, request.headers.get(fhir_expand.THRESHOLD_HEADER)
    )
    body, state = await fhir_expand.expand(
        terminology, params, request.headers.get("accept-language"), limit
    )
    return fhir_response(body, state)
