"""HTTP handler for a network's compliance report (thin: parse, call, shape)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Router, get
from litestar.datastructures import State
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.compliance import service
from services.compliance.schemas import ComplianceOut
from services.insights.service import parse_year
from services.settings import Settings

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]
YearParam = Annotated[
    str | None, Parameter(description="A program year such as 2025-26 (default: the current one)", max_length=7)
]


@get("/networks/{slug:str}/compliance", summary="Per-space compliance for the current program year", tags=["policy"])
async def compliance(
    db_session: AsyncSession, actor: Actor, state: State, slug: SlugParam, year: YearParam = None
) -> ComplianceOut:
    """Compliance report (network admins), for the current program year or a past one (``year``,
    e.g. 2025-26). The program year starts on the 1st of AFFINITY_PROGRAM_YEAR_START_MONTH."""
    settings: Settings = state.settings
    now = dt.datetime.now(dt.UTC)
    if year is not None:  # any program year: its first day picks it
        first = parse_year(year, settings.program_year_start_month)
        return await service.compliance(
            db_session, actor, slug, start_month=settings.program_year_start_month, today=first.start
        )
    return await service.compliance(
        db_session, actor, slug, start_month=settings.program_year_start_month, today=now.date(), now=now
    )


compliance_router = Router(path="/", route_handlers=[compliance], tags=["policy"])
"""The compliance route, registered with one line in ``services.app._api_routes``."""
