"""Agent API for outbound (``/agentapi/v1/outbound``): the records the dialer gives an
agent, starting or skipping a preview, hanging up, and setting dispositions.

The dialer also pushes ``outbound_preview``, ``outbound_dialing``, ``outbound_connected``,
``outbound_ended`` and ``outbound_withdrawn`` events on the agent's realtime channel.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from switchboard.api.common import bearer_token, body_doc, parse
from switchboard.auth.service import Principal, principal_from_token
from switchboard.core.errors import Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.dialer import actions
from switchboard.users.models import Privilege

router = APIRouter(prefix="/agentapi/v1/outbound", tags=["Agent API: outbound"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired agent session token"},
    403: {"description": "The user may not handle interactions"},
    404: {"description": "No such attempt of this agent"},
    409: {"description": "The attempt is not in a state that allows this"},
}


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def current_agent(request: Request) -> Principal:
    token = bearer_token(request)
    if not token:
        raise Unauthorized("Authorization: Bearer <agent session token> is required")
    principal = await principal_from_token(_rt(request), token, ("agent",))
    principal.require(Privilege.HANDLE_INTERACTIONS)
    return principal


Agent = Annotated[Principal, Depends(current_agent)]


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class DispositionBody(_Camel):
    disposition: str = Field(min_length=1)
    notes: str | None = Field(default=None, max_length=10000)
    retry_minutes: float | None = Field(default=None, alias="retryMinutes", ge=0)


class NotesBody(_Camel):
    notes: str | None = Field(default=None, max_length=10000)


class DispositionItem(BaseModel):
    name: str
    outcome: str
    retryMinutes: int | None = None


@router.get("/current", summary="The agent's open outbound attempts", responses=ERRORS)
async def current(request: Request, agent: Agent) -> list[dict[str, Any]]:
    return await actions.current(_rt(request), tenant_id=agent.tenant_id, user_id=agent.user_id)


@router.get("/{attempt_id}", summary="One attempt (record, phone, state)", responses=ERRORS)
async def get_attempt(attempt_id: str, request: Request, agent: Agent) -> dict[str, Any]:
    return await actions.get_view(
        _rt(request), tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )


@router.get(
    "/{attempt_id}/dispositions",
    summary="Dispositions the agent may set on this attempt",
    response_model=list[DispositionItem],
    responses=ERRORS,
)
async def dispositions(attempt_id: str, request: Request, agent: Agent) -> list[DispositionItem]:
    found = await actions.dispositions_for(
        _rt(request), tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )
    return [
        DispositionItem(name=d.name, outcome=d.outcome, retryMinutes=d.retry_minutes) for d in found
    ]


@router.post(
    "/{attempt_id}/start",
    summary="Preview: place the call",
    status_code=202,
    responses=ERRORS,
)
async def start(attempt_id: str, request: Request, agent: Agent) -> dict[str, Any]:
    rt = _rt(request)
    await actions.start_preview(
        rt, tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )
    return await actions.get_view(
        rt, tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )


@router.post(
    "/{attempt_id}/skip",
    summary="Preview: pass on the record (it comes back later)",
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": NotesBody.model_json_schema()}},
        }
    },
)
async def skip(attempt_id: str, request: Request, agent: Agent) -> Response:
    notes = None
    if await request.body():
        notes = (await parse(request, NotesBody)).notes
    await actions.skip_preview(
        _rt(request),
        tenant_id=agent.tenant_id,
        user_id=agent.user_id,
        attempt_id=attempt_id,
        notes=notes,
    )
    return Response(status_code=204)


@router.post("/{attempt_id}/hangup", summary="End the connected call", responses=ERRORS)
async def hangup(attempt_id: str, request: Request, agent: Agent) -> dict[str, Any]:
    rt = _rt(request)
    await actions.hangup(
        rt, tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )
    return await actions.get_view(
        rt, tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )


@router.post(
    "/{attempt_id}/disposition",
    summary="Set the disposition and notes (ends the call and the wrap-up)",
    openapi_extra=body_doc(DispositionBody),
    responses={**ERRORS, 400: {"description": "Unknown disposition"}},
)
async def disposition(attempt_id: str, request: Request, agent: Agent) -> dict[str, Any]:
    body = await parse(request, DispositionBody)
    rt = _rt(request)
    await actions.dispose(
        rt,
        tenant_id=agent.tenant_id,
        user_id=agent.user_id,
        attempt_id=attempt_id,
        disposition=body.disposition,
        notes=body.notes,
        retry_minutes=body.retry_minutes,
    )
    return await actions.get_view(
        rt, tenant_id=agent.tenant_id, user_id=agent.user_id, attempt_id=attempt_id
    )
