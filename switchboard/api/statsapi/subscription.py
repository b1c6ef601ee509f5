"""``POST /statsapi/subscription``, ``GET /statsapi/subscription/data``,
``DELETE /statsapi/subscription/active``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from switchboard.api.common import LENIENT_JSON_TYPES, json_body
from switchboard.api.statsapi.deps import StatsPrincipal, runtime
from switchboard.core.db import utcnow
from switchboard.core.errors import NotFound
from switchboard.stats import actions, service
from switchboard.stats.definition import SubscriptionDef, parse_subscription
from switchboard.stats.engine import SubscriptionView, get_engine
from switchboard.stats.render import Viewer
from switchboard.users.models import Privilege

router = APIRouter(tags=["Real-Time Statistics API"])

EXAMPLE = {
    "1": {
        "stats_totals": ["in_calls_waiting", "agents_ready", "service_level"],
        "service_grids": [
            {
                "id": "services",
                "columns": [
                    {"id": "1", "stat_name": "name"},
                    {"id": "2", "stat_name": "in_calls_waiting"},
                    {
                        "id": "3",
                        "stat_name": "SUM",
                        "sum_stat_names": ["agents_ready", "agents_busy"],
                    },
                ],
                "order_by": "2",
                "order_dir": "DESC",
                "limit": "10",
            }
        ],
        "agent_grids": [
            {
                "id": "agents",
                "columns": [
                    {"id": "1", "statName": "first_last_name"},
                    {"id": "2", "statName": "acd_state"},
                    {"id": "3", "statName": "state_duration"},
                ],
                "order": [{"by": "1", "dir": "ASC"}],
                "filter_by": "2",
                "filter_value": "logged_out",
                "filter_operation": "NE",
            }
        ],
        "chat_messages": {"filter": "", "limit": "10"},
    }
}

SUBSCRIBE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "App ids mapped to their statistics (see docs/statistics.md)",
                    "additionalProperties": {"type": "object"},
                },
                "example": EXAMPLE,
            }
        },
    }
}


def _check_privileges(principal: StatsPrincipal, definition: SubscriptionDef) -> None:
    if definition.wants_services:
        principal.require(Privilege.STATS_SERVICES)
    if definition.wants_agents:
        principal.require(Privilege.STATS_AGENTS)


@router.post(
    "/subscription",
    summary="Create subscription",
    openapi_extra=SUBSCRIBE_DOC,
    responses={
        200: {"description": "OK, the subscription was created (replacing the client's one)"},
        400: {"description": "Malformed body or unknown statistic name"},
        401: {"description": "Unauthorized"},
        403: {"description": "A privilege for service or agent metrics is missing"},
        409: {"description": "Limit of active subscriptions exceeded for tenant"},
    },
)
async def create(request: Request, principal: StatsPrincipal) -> JSONResponse:
    body = await json_body(request, content_types=LENIENT_JSON_TYPES)
    definition = parse_subscription(body)
    _check_privileges(principal, definition)
    rt = runtime(request)
    sub = await actions.create_subscription(rt, principal=principal, definition=definition)
    get_engine(rt).forget_subscription(principal.token_id)
    return JSONResponse({"subscription_id": sub.id})


@router.get(
    "/subscription/data",
    summary="Get subscription data",
    responses={
        200: {"description": "The statistics of every app id; every value is a string"},
        204: {"description": "Data is not ready yet (poll again)"},
        401: {"description": "Unauthorized"},
        404: {"description": "There is no active subscription"},
    },
)
async def data(request: Request, principal: StatsPrincipal) -> Response:
    rt = runtime(request)
    engine = get_engine(rt)
    sub = engine.cached_subscription(principal.token_id)
    if sub is None:
        async with rt.db.read() as s:
            row = await service.get_subscription(session=s, token_id=principal.token_id)
        if row is None:
            raise NotFound("There is no active subscription")
        sub = SubscriptionView(row.id, row.created_at, row.polled_at, row.definition)
        engine.remember_subscription(principal.token_id, sub)
    engine.viewed(principal.tenant_id)
    now = utcnow()
    if now - sub.polled_at > timedelta(seconds=engine.settings.touch_seconds):
        engine.touch(sub.id)  # written by the worker, never on the request's path
        sub.polled_at = now
    snap = engine.current(principal.tenant_id)
    if engine.is_stale(snap, now):
        engine.kick(rt, principal.tenant_id)
    if snap is None or snap.computed_at < sub.created_at:
        return Response(status_code=204)
    viewer = Viewer(principal.user_id, principal.privileges)
    body = engine.render_json(snap, sub.definition, viewer, now, sub.key)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Cache-Control": "no-store",
            "X-Stats-Computed-At": f"{snap.computed_at.timestamp():.3f}",
        },
    )


@router.delete(
    "/subscription/active",
    summary="Delete subscription",
    responses={
        200: {"description": "The client's subscription is deleted"},
        401: {"description": "Unauthorized"},
        404: {"description": "There is no active subscription"},
    },
)
async def delete(request: Request, principal: StatsPrincipal) -> JSONResponse:
    rt = runtime(request)
    get_engine(rt).forget_subscription(principal.token_id)
    await actions.delete_subscription(rt, principal=principal)
    return JSONResponse({})
