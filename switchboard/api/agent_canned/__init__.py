"""Canned responses for agents (``/agentapi/v1/canned-responses``): search the tenant's
canned responses, with the placeholders filled from one of the agent's chats.

Authorised like the rest of the agent API: an agent session token (``POST
/agentapi/v1/login``) of a user holding "Handle interactions". See docs/agent-api.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from switchboard.api.agent.deps import CurrentAgent, RuntimeDep
from switchboard.canned import service as canned
from switchboard.canned.schemas import CannedForAgent, CannedList
from switchboard.chats.models import ChatSession
from switchboard.interactions import service as interactions

router = APIRouter(prefix="/agentapi/v1/canned-responses", tags=["Agent API: canned responses"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid or expired agent session token"},
    403: {"description": "The user may not handle interactions"},
    404: {"description": "No such canned response, or no such interaction of this agent"},
}

INTERACTION = Query(
    default=None,
    description="An interaction of the agent: its chat's parameters fill the placeholders "
    "and only the responses of its service (and those for every service) are listed",
)


async def _context(
    rt: Any, tenant_id: str, user_id: str, interaction: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The chat parameters and service of the agent's interaction (None, None without)."""
    if not interaction:
        return None, None
    async with rt.db.read() as s:
        _step, it = await interactions.my_part(
            session=s, tenant_id=tenant_id, user_id=user_id, interaction_id=interaction
        )
        params: dict[str, Any] = {}
        if it.chat_id:
            chat = await s.get(ChatSession, it.chat_id)
            if chat is not None:
                params = dict(chat.parameters or {})
        return params, it.service_id


@router.get(
    "",
    summary="Search canned responses (every word of q in the title, text, shortcut, "
    "category or tags)",
    response_model=CannedList,
    responses=ERRORS,
)
async def list_canned(
    principal: CurrentAgent,
    rt: RuntimeDep,
    q: str | None = Query(default=None, max_length=200),
    category: str | None = None,
    interaction: str | None = INTERACTION,
    limit: int = Query(default=50, ge=1, le=500),
) -> CannedList:
    params, service_id = await _context(rt, principal.tenant_id, principal.user_id, interaction)
    async with rt.db.read() as s:
        rows = await canned.search(
            session=s,
            tenant_id=principal.tenant_id,
            q=q,
            category=category,
            service_id=service_id,
            any_service=interaction is None,
            limit=limit,
        )
    return CannedList(items=[canned.for_agent(c, params) for c in rows])


@router.get(
    "/{ref:path}",
    summary="One canned response (by id or shortcut), filled for an interaction",
    response_model=CannedForAgent,
    responses=ERRORS,
)
async def get_canned(
    ref: str,
    principal: CurrentAgent,
    rt: RuntimeDep,
    interaction: str | None = INTERACTION,
) -> CannedForAgent:
    params, _service = await _context(rt, principal.tenant_id, principal.user_id, interaction)
    async with rt.db.read() as s:
        c = await canned.find(session=s, tenant_id=principal.tenant_id, ref=ref)
    return canned.for_agent(c, params)
