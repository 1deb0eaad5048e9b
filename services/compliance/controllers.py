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
from services.settings import Settings

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]


@get("/networks/{slug:str}/compliance", summary="Per-space compliance for the current program year", tags=["policy"])
async def compliance(db_session: AsyncSession, actor: Actor, state: State, slug: SlugParam) -> ComplianceOut:
    """Compliance report (network admins). The program year starts on the 1st of
    AFFINITY_PROGRAM_YEAR_START_MONTH (default August)."""
    settings: Settings = state.settings
    return await service.compliance(
        db_session, actor, slug, start_month=settings.program_year_start_month, today=dt.datetime.now(dt.UTC).date()
    )


compliance_router = Router(path="/", route_handlers=[compliance], tags=["policy"])
"""The compliance route, registered with one line in ``services.app._api_routes``."""
