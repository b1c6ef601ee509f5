"""Calls in the agent's chats (``/agentapi/v1/interactions/{id}/calls``): the calls of an
interaction the agent took part in, with their outcome, duration and recording; and
calling a chat's customer back through the carrier at the chat's ``phone_number``
(``/agentapi/v1/interactions/{id}/callback``, ``.../callbacks``: outbound attempts, see
``switchboard/gms/chat_callback.py`` and docs/carriers.md).

The signaling itself goes through ``POST /agentapi/v1/interactions/{id}/signaling`` (the
agent API) and the realtime channel (``call_ringing``, ``call_connected``,
``call_ended`` frames). See docs/calls.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from switchboard.api.agent.deps import CurrentAgent, RuntimeDep
from switchboard.calls import service as calls
from switchboard.calls.actions import RECORDING_SOURCE
from switchboard.calls.schemas import CallList, CallRead
from switchboard.core.errors import Conflict
from switchboard.dialer import actions as dialer
from switchboard.gms import chat_callback
from switchboard.interactions import service as interactions
from switchboard.recordings.models import Recording


class IceServers(BaseModel):
    servers: list[dict[str, Any]]


router = APIRouter(prefix="/agentapi/v1", tags=["Agent API: calls"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired agent session token"},
    403: {"description": "The user may not handle interactions"},
    404: {"description": "No such interaction of this agent"},
}


@router.get(
    "/iceservers",
    summary="The ICE servers for the agent's calls (TURN with short-lived credentials)",
    response_model=IceServers,
)
async def agent_ice_servers(principal: CurrentAgent, rt: RuntimeDep) -> IceServers:
    async with rt.db.read() as s:
        servers = await calls.ice_servers(
            session=s, settings=rt.settings, tenant_id=principal.tenant_id
        )
    return IceServers(servers=servers)


@router.get(
    "/interactions/{interaction_id}/calls",
    summary="The voice and video calls of one of the agent's interactions",
    response_model=CallList,
    responses=ERRORS,
)
async def list_calls(interaction_id: str, principal: CurrentAgent, rt: RuntimeDep) -> CallList:
    async with rt.db.read() as s:
        await interactions.my_part(
            session=s,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            interaction_id=interaction_id,
        )
        rows = await calls.for_interaction(
            session=s, tenant_id=principal.tenant_id, interaction_id=interaction_id
        )
        steps = [c.step_id for c in rows if c.step_id]
        recorded: dict[str, str] = {}
        if steps:
            for rec_id, source_id in (
                await s.execute(
                    select(Recording.id, Recording.source_id).where(
                        Recording.source == RECORDING_SOURCE, Recording.source_id.in_(steps)
                    )
                )
            ).all():
                recorded[source_id] = rec_id
    return CallList(calls=[CallRead.of(c, recorded.get(c.step_id or "")) for c in rows])


CALLBACK_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    400: {"description": "The chat's phone number cannot be dialed"},
    409: {
        "description": "Not accepted yet, no phone number in the chat, already on a call, "
        "or no phone of the agent's for the carrier to connect"
    },
}


@router.post(
    "/interactions/{interaction_id}/callback",
    summary="Call the chat's customer at the chat's phone number (an outbound attempt)",
    status_code=202,
    responses=CALLBACK_ERRORS,
)
async def call_back(interaction_id: str, principal: CurrentAgent, rt: RuntimeDep) -> dict[str, Any]:
    attempt_id = await chat_callback.place(
        rt,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        interaction_id=interaction_id,
        trigger="manual",
    )
    if attempt_id is None:  # only an automatic callback is ever skipped
        raise Conflict("The chat's customer was not called")
    found = await dialer.get_view(
        rt, tenant_id=principal.tenant_id, user_id=principal.user_id, attempt_id=attempt_id
    )
    return {**found, "trigger": "manual"}


@router.get(
    "/interactions/{interaction_id}/callbacks",
    summary="The calls placed to the customer of one of the agent's chats, and their outcome",
    responses=ERRORS,
)
async def list_callbacks(
    interaction_id: str, principal: CurrentAgent, rt: RuntimeDep
) -> list[dict[str, Any]]:
    return await chat_callback.list_for(
        rt,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        interaction_id=interaction_id,
    )
