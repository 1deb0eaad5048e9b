"""HTTP handlers for insights (thin: parse, call, shape)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Response, Router, get, put
from litestar.datastructures import State
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.errors import NotFound
from services.insights import service
from services.insights.schemas import InsightsOut, StaffRow, StaffSet
from services.settings import Settings

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]
From = Annotated[
    dt.date | None, QueryParameter(name="from", description="First day (default: the start of five program years ago)")
]
To = Annotated[dt.date | None, QueryParameter(name="to", description="Last day (default: today)")]
Metric = Annotated[str, Parameter(description="A metric name from GET .../insights", max_length=40)]


async def _compute(
    db_session: AsyncSession, actor: Actor, state: State, slug: str, *, since: dt.date | None, until: dt.date | None
) -> InsightsOut:
    settings: Settings = state.settings
    return await service.insights(
        db_session,
        actor,
        slug,
        since=since,
        until=until,
        start_month=settings.program_year_start_month,
        now=dt.datetime.now(dt.UTC),
    )


class InsightsController(Controller):
    """Engagement figures per program year and space kind, for a network's admins."""

    path = "/networks/{slug:str}/insights"
    tags = ["insights"]

    @get("/", summary="Insights per program year and space kind, small cells suppressed (network admins)")
    async def read(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        state: State,
        slug: SlugParam,
        since: From = None,
        until: To = None,
    ) -> InsightsOut:
        return await _compute(db_session, actor, state, slug, since=since, until=until)

    @get(
        "/export.csv",
        summary="The same figures as CSV, with the same suppression (network admins)",
        media_type="text/csv",
    )
    async def export(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        state: State,
        slug: SlugParam,
        since: From = None,
        until: To = None,
    ) -> Response[str]:
        out = await _compute(db_session, actor, state, slug, since=since, until=until)
        return Response(
            service.to_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{out.network}-insights.csv"',
                "Cache-Control": "private, no-store",
            },
        )

    @get(
        "/charts/{chart:str}",
        summary="A chart as SVG: trend-<metric>.svg or kinds-<metric>.svg (network admins)",
        media_type="image/svg+xml",
    )
    async def chart(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        state: State,
        slug: SlugParam,
        chart: Metric,
        since: From = None,
        until: To = None,
    ) -> Response[str]:
        kind, _, rest = chart.partition("-")
        metric = rest.removesuffix(".svg")
        if kind not in {"trend", "kinds"} or not rest.endswith(".svg"):
            raise NotFound("Charts are trend-<metric>.svg or kinds-<metric>.svg.", code="chart_not_found")
        out = await _compute(db_session, actor, state, slug, since=since, until=until)
        svg = service.chart(out, kind, metric)
        if svg is None:
            raise NotFound(f"No metric is called {metric!r}.", code="chart_not_found")
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={
                "Cache-Control": "private, no-store",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            },
        )

    @put("/staff", summary="Enter the network's own staff totals for a program year (network admins)")
    async def set_staff(
        self, *, db_session: AsyncSession, actor: Actor, state: State, slug: SlugParam, data: StaffSet
    ) -> StaffRow:
        settings: Settings = state.settings
        return await service.set_staff(db_session, actor, slug, data, start_month=settings.program_year_start_month)


insights_router = Router(path="/", route_handlers=[InsightsController], tags=["insights"])
"""Every insights route, registered with one line in ``services.app._api_routes``."""
