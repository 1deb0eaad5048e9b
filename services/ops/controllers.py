"""GET /health, GET /ready, GET /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import MediaType, Request, Response, get

from services import readiness
from services.readiness import ReadinessCheck


@get("/health", summary="Process is alive", tags=["operations"], opt={"public": True})
async def health() -> dict[str, str]:
    """200 while the process runs; does not touch the database."""
    return {"status": "ok"}


@get("/ready", summary="Database and broker reachable", tags=["operations"], opt={"public": True})
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 when every dependency answers within 2 s, else 503 naming what is down."""
    checks: list[ReadinessCheck] = request.app.state.readiness_checks
    results = await asyncio.gather(*(_run(check) for check in checks))
    down = {name: problem for name, problem in results if problem}
    body: dict[str, Any] = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: (problem or "ok") for name, problem in results},
    }
    return Response(body, status_code=200 if not down else 503)


async def _run(check: ReadinessCheck) -> tuple[str, str | None]:
    return check.name, await readiness.run(check)  # the exception's text stays in the log


@get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["operations"],
    opt={"public": True},
    media_type=MediaType.TEXT,
    include_in_schema=True,
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format. Counts only: no identities, no space names."""
    payload = request.app.state.metrics.exposition()
    return Response(payload, media_type="text/plain; version=0.0.4; charset=utf-8")
