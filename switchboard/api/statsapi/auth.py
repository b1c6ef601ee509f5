"""``POST /statsapi/auth`` (log in: session cookies and a token) and
``DELETE /statsapi/auth`` (log out)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from switchboard.api.common import LENIENT_JSON_TYPES, client_address, json_body
from switchboard.api.statsapi.deps import (
    LOGIN_COOKIE,
    TENANT_COOKIE,
    TOKEN_COOKIE,
    request_token,
    runtime,
)
from switchboard.auth import actions as auth_actions
from switchboard.auth.service import principal_from_token
from switchboard.core.errors import DomainError, Invalid, TooManyRequests, Unauthorized
from switchboard.core.security import token_digest
from switchboard.stats.engine import get_engine
from switchboard.users.models import Privilege

router = APIRouter(tags=["Real-Time Statistics API"])

AUTH_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["tenant_url", "username", "password"],
                    "properties": {
                        "tenant_url": {"type": "string", "example": "example.com"},
                        "username": {"type": "string", "example": "supervisor1"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            }
        },
    }
}

FAILURES = {"disabled": "User is disabled"}


def _field(data: dict[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip() if name != "password" else value
    return ""


def _cookie_args(request: Request) -> dict[str, Any]:
    # SameSite=Lax: other sites' pages never send the session cookie (no cross-site
    # reads or posts as the supervisor); Secure whenever the request came over TLS
    return {"path": "/", "secure": request.url.scheme == "https", "samesite": "lax"}


@router.post(
    "/auth",
    summary="Authenticate",
    openapi_extra=AUTH_DOC,
    responses={
        200: {
            "description": "Logged in; the session cookies are set",
            "content": {"application/json": {"example": {"token": "3F2A..."}}},
        },
        400: {"description": "Malformed body"},
        401: {"description": "Unknown tenant or user, wrong password, locked or disabled"},
        403: {"description": "The user lacks the privilege Access Realtime Stats API"},
        413: {"description": "The body is too large"},
        415: {"description": "The content type cannot carry JSON"},
        429: {"description": "Too many failed logins from this address (Retry-After)"},
    },
)
async def login(request: Request) -> Response:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data: Any = {k: str(v) for k, v in (await request.form()).items()}
    else:
        data = await json_body(request, content_types=LENIENT_JSON_TYPES)
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object {tenant_url, username, password}")
    tenant = _field(data, "tenant_url", "tenantUrl", "tenant")
    username = _field(data, "username", "login_id", "loginId")
    password = _field(data, "password")
    missing = [
        n
        for n, v in (("tenant_url", tenant), ("username", username), ("password", password))
        if not v
    ]
    if missing:
        raise Invalid("Missing: " + ", ".join(missing))
    rt = runtime(request)
    lifetime = get_engine(rt).settings.session_lifetime_seconds
    try:
        issued = await auth_actions.login(
            rt,
            tenant_domain=tenant,
            login_id=username,
            secret=password,
            using="password",
            kind="stats",
            lifetime_seconds=lifetime,
            source=client_address(request),
        )
    except auth_actions.LoginFailed as e:
        if e.reason == "throttled":
            raise TooManyRequests(
                "Too many failed logins from this address; retry later",
                retry_after=int(e.retry_after + 0.999) or 1,
            ) from e
        raise Unauthorized(FAILURES.get(e.reason, "Invalid tenant, username or password")) from e
    try:
        principal = await principal_from_token(rt, issued.token, ("stats",))
        principal.require(Privilege.STATS_API)
    except DomainError:
        await auth_actions.revoke(rt, issued.token)
        raise
    response = JSONResponse({"token": issued.token})
    args = _cookie_args(request)
    response.set_cookie(TOKEN_COOKIE, issued.token, max_age=lifetime, httponly=True, **args)
    response.set_cookie(TENANT_COOKIE, issued.tenant_domain, max_age=lifetime, **args)
    response.set_cookie(LOGIN_COOKIE, issued.login_id, max_age=lifetime, **args)
    return response


@router.delete(
    "/auth",
    summary="Log out",
    responses={
        200: {"description": "The token is revoked and the cookies cleared"},
        413: {"description": "The body is too large"},
    },
)
async def logout(request: Request) -> Response:
    token = request_token(request)
    if token:
        rt = runtime(request)
        await auth_actions.revoke(rt, token)
        get_engine(rt).forget_principal(token_digest(token))
    response = JSONResponse({})
    args = _cookie_args(request)
    for name in (TOKEN_COOKIE, TENANT_COOKIE, LOGIN_COOKIE):
        response.delete_cookie(name, **args)
    return response
