"""Authorisation of agent API requests: agent session tokens and the agent privilege."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.api.common import bearer_token
from switchboard.auth.service import Principal, principal_from_token
from switchboard.core.errors import Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.users.models import Privilege


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def principal_for(rt: Runtime, token: str) -> Principal:
    """The agent behind a session token, who must hold "Handle interactions"."""
    if not token:
        raise Unauthorized("Authorization: Bearer <agent session token> is required")
    principal = await principal_from_token(rt, token, ("agent",))
    principal.require(Privilege.HANDLE_INTERACTIONS)
    return principal


async def current_agent(request: Request) -> Principal:
    token = bearer_token(request) or request.query_params.get("access_token", "")
    return await principal_for(runtime(request), token)


CurrentAgent = Annotated[Principal, Depends(current_agent)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
