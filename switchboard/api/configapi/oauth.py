"""``POST /configapi/v2/oauth/token``: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from switchboard.api.common import client_address, safe_loads
from switchboard.auth.actions import LoginFailed, login
from switchboard.core.errors import Invalid
from switchboard.core.runtime import Runtime

router = APIRouter(tags=["Configuration API: authentication"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="configapi"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(user), unquote_plus(secret)


TOKEN_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type", "scope"],
                    "properties": {
                        "client_id": {"type": "string", "description": "the user's loginId"},
                        "client_secret": {"type": "string", "description": "the API secret"},
                        "scope": {"type": "string", "description": "the tenant's domain"},
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                    },
                }
            }
        },
    }
}


@router.post(
    "/oauth/token",
    summary="Get Access Token",
    openapi_extra=TOKEN_DOC,
    responses={
        400: {"description": "invalid_request, unsupported_grant_type, invalid_scope"},
        401: {"description": "invalid_client (unknown scope or client, wrong or locked)"},
        413: {"description": "The body is too large"},
        429: {"description": "Too many failed logins from this address (Retry-After)"},
    },
)
async def token(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.rt
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/json":
        try:
            data = safe_loads(await request.body())
        except Invalid as e:
            return _error(400, "invalid_request", e.message)
        if not isinstance(data, dict):
            return _error(400, "invalid_request", "Request body must be an object")
        form = {k: str(v) for k, v in data.items()}
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = {k: str(v) for k, v in (await request.form()).items()}
    else:
        return _error(
            400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
        )
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return _error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _error(400, "unsupported_grant_type", "Only client_credentials is supported")
    creds = _basic_credentials(request)
    client_id, client_secret = (
        creds if creds else (form.get("client_id", ""), form.get("client_secret", ""))
    )
    if not client_id or not client_secret:
        return _error(401, "invalid_client", "client_id and client_secret are required")
    scope = form.get("scope", "")
    if not scope:
        return _error(400, "invalid_scope", "scope (the tenant's domain name) is required")
    try:
        issued = await login(
            rt,
            tenant_domain=scope,
            login_id=client_id,
            secret=client_secret,
            using="api_secret",
            kind="oauth",
            source=client_address(request),
        )
    except LoginFailed as e:
        if e.reason == "throttled":
            response = _error(
                429, "invalid_request", "Too many failed logins from this address; retry later"
            )
            response.headers.update(e.retry_after_header)
            return response
        if e.reason == "disabled":
            return _error(401, "invalid_client", "User is disabled")
        # unknown scope, unknown client, wrong secret, locked out: one answer
        return _error(401, "invalid_client", "Invalid client credentials")
    return JSONResponse(
        {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": str(issued.expires_in),
            "scope": issued.tenant_domain,
        },
        headers=_NO_STORE,
    )
