"""FHIR terminology facade (``/fhir``): GET with query parameters, POST with ``Parameters``."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response.base import ASGIResponse

from gateway.auth.policy import ACCESS, SEARCH
from gateway.errors import InvalidInput
from gateway.terminology.service import TerminologyService
from gateway.web import fhir_batch, fhir_translate
from gateway.web import fhir_format as fmt
from gateway.web import fhir_operations as ops
from gateway.web.deps import fhir_response
from gateway.web.error_docs import fhir_errors

Q = Annotated[str | None, QueryParameter(required=False)]
#: Read by ``fhir_operations.expand``; declared for the API documentation.
Threshold = Annotated[
    str | None,
    HeaderParameter(
        name="X-TOO-COSTLY-THRESHOLD",
        required=False,
        description="Lowers (never raises) the most codes the expansion may return",
    ),
]
#: Error answers (gateway.web.error_docs): a terminology operation may name an unknown
#: resource or code (404) and fetch from the SMT (503); a ValueSet's compose may use an
#: unsupported filter (422); a POST's body may be too large (413).
_ERRORS = fhir_errors(400, 404, 503)
_BODY_ERRORS = fhir_errors(400, 404, 413, 503)
_VS_ERRORS = fhir_errors(400, 404, 422, 503)
_VS_BODY_ERRORS = fhir_errors(400, 404, 413, 422, 503)
_SEARCH_ERRORS = fhir_errors(400, 503)
FhirRequest = ops.FhirRequest
Terminology = NamedDependency[TerminologyService]


def _base(request: FhirRequest) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


class FhirController(Controller):
    path = "/fhir"
    tags = ["FHIR terminology"]
    opt = {ACCESS: SEARCH}

    @get(
        "/metadata",
        summary="CapabilityStatement (mode=terminology: TerminologyCapabilities)",
        responses=fhir_errors(400, 503),
    )
    async def metadata(
        self, request: FhirRequest, terminology: Terminology, mode: Q = None
    ) -> ASGIResponse:
        if mode == "terminology":
            listed = await terminology.published_codesystems()
            return fhir_response(fmt.terminology_capabilities(listed.value), listed.state)
        return fhir_response(fmt.capability_statement(_base(request)))

    @get("/CodeSystem/$lookup", summary="CodeSystem $lookup", responses=_ERRORS)
    async def lookup_get(
        self,
        request: FhirRequest,
        terminology: Terminology,
        system: Q = None,
        code: Q = None,
        version: Q = None,
        coding: Q = None,
        property: Annotated[list[str] | None, QueryParameter(required=False)] = None,
    ) -> ASGIResponse:
        return await ops.lookup(request, terminology)

    @post(
        "/CodeSystem/$lookup",
        summary="CodeSystem $lookup (Parameters body)",
        status_code=200,
        responses=_BODY_ERRORS,
    )
    async def lookup_post(self, request: FhirRequest, terminology: Terminology) -> ASGIResponse:
        return await ops.lookup(request, terminology)

    @get("/CodeSystem/$validate-code", summary="CodeSystem $validate-code", responses=_ERRORS)
    async def validate_cs_get(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        system: Q = None,
        code: Q = None,
        version: Q = None,
        display: Q = None,
        coding: Q = None,
    ) -> ASGIResponse:
        return await ops.validate(request, terminology, valueset=False)

    @post(
        "/CodeSystem/$validate-code",
        summary="CodeSystem $validate-code (Parameters body)",
        status_code=200,
        responses=_BODY_ERRORS,
    )
    async def validate_cs_post(
        self, request: FhirRequest, terminology: Terminology
    ) -> ASGIResponse:
        return await ops.validate(request, terminology, valueset=False)

    @get("/ValueSet/$expand", summary="ValueSet $expand", responses=_VS_ERRORS)
    async def expand_get(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        filter: Q = None,
        count: Q = None,
        offset: Q = None,
        active_only: Annotated[
            str | None, QueryParameter(name="activeOnly", required=False)
        ] = None,
        value_set_version: Annotated[
            str | None, QueryParameter(name="valueSetVersion", required=False)
        ] = None,
        include_designations: Annotated[
            str | None, QueryParameter(name="includeDesignations", required=False)
        ] = None,
        threshold: Threshold = None,
    ) -> ASGIResponse:
        return await ops.expand(request, terminology)

    @post(
        "/ValueSet/$expand",
        summary="ValueSet $expand (Parameters body)",
        status_code=200,
        responses=_VS_BODY_ERRORS,
    )
    async def expand_post(
        self, request: FhirRequest, terminology: Terminology, threshold: Threshold = None
    ) -> ASGIResponse:
        return await ops.expand(request, terminology)

    @get("/ValueSet/$validate-code", summary="ValueSet $validate-code", responses=_VS_ERRORS)
    async def validate_vs_get(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        system: Q = None,
        code: Q = None,
        display: Q = None,
        coding: Q = None,
        value_set_version: Annotated[
            str | None, QueryParameter(name="valueSetVersion", required=False)
        ] = None,
    ) -> ASGIResponse:
        return await ops.validate(request, terminology, valueset=True)

    @post(
        "/ValueSet/$validate-code",
        summary="ValueSet $validate-code (Parameters body)",
        status_code=200,
        responses=_VS_BODY_ERRORS,
    )
    async def validate_vs_post(
        self, request: FhirRequest, terminology: Terminology
    ) -> ASGIResponse:
        return await ops.validate(request, terminology, valueset=True)

    @get("/ConceptMap/$translate", summary="ConceptMap $translate", responses=_ERRORS)
    async def translate_get(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        system: Q = None,
        code: Q = None,
        coding: Q = None,
        targetsystem: Q = None,
    ) -> ASGIResponse:
        return fhir_response(
            await fhir_translate.translate(terminology, await ops.params_of(request))
        )

    @post(
        "/ConceptMap/$translate",
        summary="ConceptMap $translate (Parameters body)",
        status_code=200,
        responses=_BODY_ERRORS,
    )
    async def translate_post(self, request: FhirRequest, terminology: Terminology) -> ASGIResponse:
        return fhir_response(
            await fhir_translate.translate(terminology, await ops.params_of(request))
        )

    @post(
        "/ValueSet/$batch-validate-code",
        summary="ValueSet $batch-validate-code (Parameters with 'validation' entries)",
        status_code=200,
        responses=_VS_BODY_ERRORS,
    )
    async def batch_validate(self, request: FhirRequest, terminology: Terminology) -> ASGIResponse:
        params = await ops.params_of(request)
        body = await fhir_batch.batch_validate(
            terminology, params, request.headers.get("accept-language")
        )
        return fhir_response(body)

    @post(
        "/",
        summary="Batch: a Bundle of $validate-code/$expand operations",
        status_code=200,
        responses=_VS_BODY_ERRORS,
    )
    async def batch(self, request: FhirRequest, terminology: Terminology) -> ASGIResponse:
        body = await fhir_batch.bundle(
            terminology, await request.body(), request.headers.get("accept-language")
        )
        return fhir_response(body)

    @get("/CodeSystem", summary="Search CodeSystems by canonical url", responses=_SEARCH_ERRORS)
    async def search_codesystems(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        version: Q = None,
    ) -> ASGIResponse:
        return await self._search(request, terminology, "CodeSystem", url, version)

    @get("/ValueSet", summary="Search ValueSets by canonical url", responses=_SEARCH_ERRORS)
    async def search_valuesets(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        version: Q = None,
    ) -> ASGIResponse:
        return await self._search(request, terminology, "ValueSet", url, version)

    @get("/ConceptMap", summary="Search ConceptMaps by canonical url", responses=_SEARCH_ERRORS)
    async def search_conceptmaps(
        self,
        request: FhirRequest,
        terminology: Terminology,
        url: Q = None,
        version: Q = None,
    ) -> ASGIResponse:
        return await self._search(request, terminology, "ConceptMap", url, version)

    @staticmethod
    async def _search(
        request: FhirRequest,
        terminology: TerminologyService,
        kind: str,
        url: str | None,
        version: str | None,
    ) -> ASGIResponse:
        if not url:
            raise InvalidInput(f"Parameter 'url' is required to search {kind}", parameter="url")
        found = await terminology.find(kind, url, version)
        return fhir_response(fmt.search_bundle(kind, found.value, _base(request)), found.state)
