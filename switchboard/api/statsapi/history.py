"""``GET /statsapi/history`` (our extension): the day's queue length and service level
curves for the wallboard chart, from the shared snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from switchboard.api.statsapi.deps import StatsPrincipal, runtime
from switchboard.core.errors import NotFound
from switchboard.stats.engine import get_engine
from switchboard.users.models import Privilege

router = APIRouter(tags=["Real-Time Statistics API"])


class Point(BaseModel):
    time: str
    queue_length: str
    service_level: str


class History(BaseModel):
    service_id: str
    day_start: str
    bucket_seconds: str
    points: list[Point]


@router.get(
    "/history",
    summary="Queue length and service level over the day (our extension)",
    response_model=History,
    responses={401: {}, 403: {}, 404: {"description": "Unknown service"}},
)
async def history(
    request: Request,
    principal: StatsPrincipal,
    service_id: Annotated[str | None, Query(max_length=64)] = None,
) -> History:
    """One point per bucket since the daily reset: ``queue_length`` is the most
    interactions waiting at once in the bucket, ``service_level`` the day's service level
    at the bucket's end (``""`` while nothing counts yet). Every value is a string."""
    principal.require(Privilege.STATS_SERVICES)
    rt = runtime(request)
    engine = get_engine(rt)
    engine.viewed(principal.tenant_id)
    snap = engine.current(principal.tenant_id)
    if snap is None:
        snap = await engine.refresh(rt, principal.tenant_id)
    elif engine.is_stale(snap):
        engine.kick(rt, principal.tenant_id)
    if snap is None:
        raise NotFound("Tenant not found")
    series = snap.series.get(service_id) if service_id else snap.series_all
    if series is None:
        raise NotFound(f"Service not found: {service_id}")
    start = int(series.day_start.timestamp())
    return History(
        service_id=service_id or "",
        day_start=str(start),
        bucket_seconds=str(series.bucket_seconds),
        points=[
            Point(
                time=str(start + i * series.bucket_seconds),
                queue_length=str(series.queue_max[i]),
                service_level=series.service_level(i),
            )
            for i in range(series.buckets)
        ],
    )
