"""``GET /health`` answers while the process serves requests (it touches nothing else, so
load balancers may call it often); ``GET /ready`` checks the database and, when
configured, Redis, and answers 503 naming what is unreachable."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from switchboard.core.runtime import Runtime

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    status: str


class ReadyRead(BaseModel):
    status: str
    database: str
    redis: str




@router.get("/health", summary="Liveness: the process serves requests", response_model=HealthRead)
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/ready",
    summary="Readiness: the database and (when configured) Redis are reachable",
    response_model=ReadyRead,
    responses={503: {"model": ReadyRead, "description": "A dependency is unreachable"}},
)
async def ready(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.rt
    db_ok = await rt.db.ping()
    redis = "not configured"
    redis_ok = True
    if rt.settings.redis_url:
        redis_ok = await rt.bus.ping()
        redis = "ok" if redis_ok else "unreachable"
    ok = db_ok and redis_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if db_ok else "unreachable",
        "redis": redis,
    }
    return JSONResponse(body, status_code=200 if ok else 503)
