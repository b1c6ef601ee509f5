"""Authentication of Statistics API requests: the ``X-STATSAPI-TOKEN`` cookie set by
``POST /statsapi/auth``, or an ``Authorization: Bearer`` token (statistics login or
Configuration API OAuth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.api.common import bearer_token
from switchboard.auth.service import Principal, principal_from_token
from switchboard.core.errors import Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.core.security import token_digest
from switchboard.stats.engine import get_engine
from switchboard.users.models import Privilege

TOKEN_COOKIE = "X-STATSAPI-TOKEN"
TENANT_COOKIE = "X-STATSAPI-TENANT"
LOGIN_COOKIE = "X-STATSAPI-LOGIN"
TOKEN_KINDS = ("stats", "oauth")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


def request_token(request: Request) -> str:
    return bearer_token(request) or request.cookies.get(TOKEN_COOKIE, "").strip()


async def stats_principal(request: Request) -> Principal:
    token = request_token(request)
    if not token:
        raise Unauthorized(
            "Not authenticated: log in with POST /statsapi/auth or send "
            "Authorization: Bearer <access token>"
        )
    rt = runtime(request)
    engine = get_engine(rt)
    digest = token_digest(token)
    cached: Principal | None = engine.cached_principal(digest)
    if cached is not None:
        principal = cached
    else:
        principal = await principal_from_token(rt, token, TOKEN_KINDS)
        engine.remember_principal(digest, principal)
    principal.require(Privilege.STATS_API)
    return principal


StatsPrincipal = Annotated[Principal, Depends(stats_principal)]
