"""Supervisors' actions on agents and what the agent desktop needs besides the agent API
(issue 13):

- ``PUT /statsapi/agents/{login_id}/state``: a supervisor makes an agent ready, not
  ready (with a reason) or logs them out (pending offers withdrawn; 409 while the agent
  still handles interactions). Authenticated like the rest of the Statistics API (the
  wallboard's session cookie, or a Bearer token); needs "Supervise teams", and the agent
  must be in a team the supervisor supervises (any agent with "Manage users").
- ``GET /agentapi/v1/team-messages``: the team messages addressed to the agent's team,
  as a long poll (``since`` = the ``cursor`` of the last answer).
- ``GET /agentapi/v1/login-hints``: the contact center to prefill on the login form.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from switchboard.agents import actions as agents
from switchboard.agents.models import AgentSession
from switchboard.api.agent.deps import CurrentAgent, RuntimeDep
from switchboard.api.common import body_doc, parse
from switchboard.api.statsapi.deps import StatsPrincipal, runtime
from switchboard.auth.service import Principal
from switchboard.chats.models import ChatSession
from switchboard.core.errors import Forbidden, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.interactions import actions as interactions
from switchboard.interactions import service as interactions_service
from switchboard.services.models import NotReadyReason, Service
from switchboard.stats import service as stats
from switchboard.stats.actions import messages_topic
from switchboard.teams.models import team_supervisors
from switchboard.tenants.models import Tenant
from switchboard.users.models import Privilege, User

router = APIRouter(tags=["Supervision"])


class SupervisorState(BaseModel):
    state: str = Field(description="ready, not_ready or logged_out")
    reason: str | None = Field(default=None, max_length=255)


class AgentStateRead(BaseModel):
    login_id: str
    state: str
    reason: str | None = None
    since: str
    next_state: str | None = None
    login_at: str | None = None


async def _target(rt: Runtime, principal: Principal, login_id: str) -> User:
    async with rt.db.read() as s:
        user = (
            await s.execute(
                select(User).where(User.tenant_id == principal.tenant_id, User.login_id == login_id)
            )
        ).scalar_one_or_none()
        if user is None:
            raise NotFound(f"No such agent: {login_id}")
        if principal.has(Privilege.MANAGE_USERS):
            return user
        supervised = {
            t
            for (t,) in (
                await s.execute(
                    select(team_supervisors.c.team_id).where(
                        team_supervisors.c.user_id == principal.user_id
                    )
                )
            ).all()
        }
        if user.team_id is None or user.team_id not in supervised:
            raise Forbidden(f"{login_id} is not in a team you supervise")
        return user


@router.put(
    "/statsapi/agents/{login_id}/state",
    summary="Supervisor: make an agent ready or not ready, or log them out",
    response_model=AgentStateRead,
    openapi_extra=body_doc(SupervisorState),
    responses={
        400: {"description": "Unknown state or not-ready reason"},
        401: {},
        403: {"description": "Not a supervisor, or not the supervisor of the agent's team"},
        404: {"description": "No such agent"},
        409: {"description": "The agent is not logged in, or still handles interactions"},
        415: {},
    },
)
async def put_agent_state(
    login_id: str, request: Request, principal: StatsPrincipal
) -> AgentStateRead:
    principal.require(Privilege.SUPERVISE)
    data = await parse(request, SupervisorState)
    rt = runtime(request)
    if data.state not in ("ready", "not_ready", "logged_out"):
        raise Invalid("state must be ready, not_ready or logged_out")
    if data.reason and data.state != "not_ready":
        raise Invalid("reason: only not_ready takes a reason")
    user = await _target(rt, principal, login_id)
    if data.state == "logged_out":
        await interactions.logout(rt, tenant_id=principal.tenant_id, user_id=user.id)
    else:
        await agents.set_state(
            rt, tenant_id=principal.tenant_id, user_id=user.id, state=data.state, reason=data.reason
        )
    async with rt.db.read() as s:
        agent = await s.get(AgentSession, user.id)
    if agent is None:
        return AgentStateRead(login_id=login_id, state="logged_out", since="")
    p = agents.state_payload(agent)
    return AgentStateRead(
        login_id=login_id,
        state=p["state"],
        reason=p["reason"],
        since=p["since"],
        next_state=p["next_state"],
        login_at=p["login_at"],
    )


class TeamMessageRead(BaseModel):
    id: str
    login_id: str
    name: str
    sent_at: str
    is_urgent: bool
    content: str


class TeamMessages(BaseModel):
    items: list[TeamMessageRead]
    cursor: str


def _parse_since(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        at = datetime.fromisoformat(since)
    except ValueError:
        raise Invalid("since: the cursor of an earlier answer") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@router.get(
    "/agentapi/v1/team-messages",
    tags=["Agent API"],
    summary="Team messages for the agent's team, newest last (a long poll with since)",
    response_model=TeamMessages,
    responses={400: {}, 401: {}, 403: {}},
)
async def team_messages(
    principal: CurrentAgent,
    rt: RuntimeDep,
    since: Annotated[str | None, Query(max_length=64)] = None,
    timeout: Annotated[float, Query(ge=0, le=3600)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TeamMessages:
    after = _parse_since(since)

    async def read() -> list[Any]:
        async with rt.db.read() as s:
            user = await s.get(User, principal.user_id)
            if user is None:
                raise NotFound("User not found")
            teams = await stats.audience_of(session=s, user=user)
            rows = await stats.list_messages(
                session=s, tenant_id=principal.tenant_id, team_ids=teams, limit=limit
            )
        return [m for m in reversed(rows) if after is None or m.created_at > after]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeout, 30.0)
    found = await read()
    while not found and after is not None and loop.time() < deadline:
        async with rt.bus.listen([messages_topic(principal.tenant_id)]) as waiter:
            found = await read()
            if found:
                break
            if await waiter.wait(max(0.0, deadline - loop.time())):
                found = await read()
    cursor = found[-1].created_at.isoformat() if found else (since or "")
    if not cursor:
        cursor = datetime.fromtimestamp(0, UTC).isoformat()
    return TeamMessages(
        items=[
            TeamMessageRead(
                id=m.id,
                login_id=m.sender_login_id,
                name=f"{m.sender_first_name} {m.sender_last_name}".strip() or m.sender_login_id,
                sent_at=m.created_at.isoformat(),
                is_urgent=bool(m.is_urgent),
                content=m.content,
            )
            for m in found
        ],
        cursor=cursor,
    )


class LoginHints(BaseModel):
    tenant: str


@router.get(
    "/agentapi/v1/login-hints",
    tags=["Agent API"],
    summary="The contact center (tenant domain) to prefill on the login form",
    response_model=LoginHints,
)
async def login_hints(request: Request, rt: RuntimeDep) -> LoginHints:
    """The tenant whose domain is the host of the request, else the only tenant, else
    the demo tenant when it exists, else nothing."""
    host = (request.headers.get("host") or "").split(":")[0].lower()
    async with rt.db.read() as s:
        domains = list(
            (await s.execute(select(Tenant.domain).order_by(Tenant.domain).limit(2))).scalars()
        )
        for wanted in (host, rt.settings.demo_tenant):
            if (
                wanted
                and (await s.execute(select(Tenant.id).where(Tenant.domain == wanted))).first()
            ):
                return LoginHints(tenant=wanted)
    return LoginHints(tenant=domains[0] if len(domains) == 1 else "")


class ReasonList(BaseModel):
    items: list[str]


@router.get(
    "/statsapi/not-ready-reasons",
    summary="The tenant's not-ready reasons (for supervisors' actions)",
    response_model=ReasonList,
    responses={401: {}},
)
async def not_ready_reasons(request: Request, principal: StatsPrincipal) -> ReasonList:
    async with runtime(request).db.read() as s:
        names = (
            await s.execute(
                select(NotReadyReason.name)
                .where(NotReadyReason.tenant_id == principal.tenant_id)
                .order_by(NotReadyReason.name)
            )
        ).scalars()
        return ReasonList(items=list(names))


class ActiveItem(BaseModel):
    interaction_id: str
    media: str
    service: str | None = None
    customer: str
    phase: str
    since: str | None = None


class ActiveList(BaseModel):
    login_id: str
    items: list[ActiveItem]


@router.get(
    "/statsapi/agents/{login_id}/interactions",
    summary="Supervisor: the interactions an agent holds now (offered, connected, wrap-up)",
    response_model=ActiveList,
    responses={401: {}, 403: {}, 404: {}},
)
async def agent_interactions(
    login_id: str, request: Request, principal: StatsPrincipal
) -> ActiveList:
    principal.require(Privilege.SUPERVISE)
    rt = runtime(request)
    user = await _target(rt, principal, login_id)
    items: list[ActiveItem] = []
    async with rt.db.read() as s:
        held = await interactions_service.held_by(
            session=s, tenant_id=principal.tenant_id, user_id=user.id
        )
        for step, inter in held:
            service = await s.get(Service, inter.service_id) if inter.service_id else None
            chat = await s.get(ChatSession, inter.chat_id) if inter.chat_id else None
            params = dict(chat.parameters or {}) if chat is not None else {}
            name = " ".join(str(params[k]) for k in ("FIRST_NAME", "LAST_NAME") if params.get(k))
            since = step.answered_at or step.offered_at
            items.append(
                ActiveItem(
                    interaction_id=inter.id,
                    media=inter.media,
                    service=service.name if service is not None else None,
                    customer=name or "Customer",
                    phase=step.phase,
                    since=since.isoformat() if since else None,
                )
            )
    return ActiveList(login_id=login_id, items=items)
