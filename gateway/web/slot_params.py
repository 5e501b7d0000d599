"""Query parameters of the SAS results page's slot filters, shared by ``/v1/search`` and
``/v1/sos`` (read by :mod:`gateway.search.filters`)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

ConsultationParam = Annotated[
    list[str] | None,
    QueryParameter(
        required=False,
        description="count only slots of these modes: AMB, VR, HH (comma-separated, or the "
        "parameter repeated)",
    ),
]
SlotBoundParam = Annotated[
    str | None,
    QueryParameter(
        required=False, max_length=40, description="date (a day, Paris time) or instant"
    ),
]
