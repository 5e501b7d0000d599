"""``GET /v1/cpts/{finess}/members``: who takes part in the SAS through a CPTS, with slots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from gateway.auth.policy import ACCESS, SEARCH
from gateway.coded import CodeDisplay
from gateway.directory.identifiers import is_finess
from gateway.errors import InvalidInput
from gateway.search.result_cards import epoch_to_datetime
from gateway.search.service import SearchService
from gateway.web.error_docs import json_errors
from gateway.web.search_api import SlotOut, slot_out


class MemberOut(msgspec.Struct):
    idnps: str
    family: str | None
    given: str | None
    profession: CodeDisplay | None
    specialty: CodeDisplay | None
    #: The site (INSEE commune) for which the member opens CPTS slots.
    insee: str | None
    sas_participant: bool
    beyond_slots: bool
    availability: str
    first_slot: datetime | None
    slots: list[SlotOut]


class MembersOut(msgspec.Struct):
    finess: str
    members: list[MemberOut]


class CptsMembersController(Controller):
    path = "/v1/cpts/{finess:str}/members"
    tags = ["Directory"]
    opt = {ACCESS: SEARCH}

    @get(
        "/",
        summary="Practitioners taking part in the SAS through a CPTS, with their slots",
        description="The subscriptions in mode `cpts` for this CPTS (FINESS), earliest slot "
        "first; an unknown FINESS has no members.",
        responses=json_errors(400, 503),
    )
    async def members(
        self,
        search: NamedDependency[SearchService],
        finess: Annotated[str, Parameter(max_length=20, description="the CPTS FINESS")],
    ) -> MembersOut:
        finess = finess.upper()  # Corsica: 2A…, 2B…
        if not is_finess(finess):
            raise InvalidInput(
                "finess must be 9 characters: digits, or 2A/2B then 7 digits", parameter="finess"
            )
        found = await search.cpts_members(finess)
        return MembersOut(
            finess,
            [
                MemberOut(
                    m.idnps, m.family, m.given, m.profession, m.specialty, m.insee,
                    m.sas_participant, m.beyond_slots, m.availability,
                    epoch_to_datetime(m.first_slot), [slot_out(s) for s in m.slots],
                )
                for m in found
            ],
        )  # fmt: skip
