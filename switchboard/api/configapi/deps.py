"""Authorisation of Configuration API requests: OAuth Bearer tokens and privileges."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from switchboard.api.common import bearer_token
from switchboard.auth.service import Principal, principal_from_token
from switchboard.core.errors import Unauthorized
from switchboard.core.runtime import Runtime


async def current_principal(request: Request) -> Principal:
    rt: Runtime = request.app.state.rt
    token = bearer_token(request)
    if not token:
        raise Unauthorized("Authorization: Bearer <access token> is required")
    return await principal_from_token(rt, token, ("oauth",))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*privileges: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller must hold every one of ``privileges``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        principal.require(*privileges)
        return principal

    return check
