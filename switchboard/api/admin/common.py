"""Authorisation and body parsing of the Administration API."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from switchboard.api.common import json_body
from switchboard.api.configapi.deps import require
from switchboard.auth.service import Principal
from switchboard.core.errors import Invalid
from switchboard.core.runtime import Runtime
from switchboard.users.models import Privilege

PREFIX = "/adminapi/v1"

Admin = Annotated[Principal, Depends(require(Privilege.MANAGE_CONFIG))]

M = TypeVar("M", bound=BaseModel)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request: `message` and `field` name the bad field"},
    401: {"description": "Missing, invalid or expired access token"},
    403: {"description": "The user lacks the privilege Manage configuration"},
    404: {"description": "No such resource"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"description": "Name already in use, or the change would break live work (says why)"},
    415: {"description": "Content-Type is not application/json"},
}


def rt_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def parse_body(request: Request, model: type[M]) -> M:
    """The JSON body as ``model``; 400 whose message and ``field`` name the first bad
    field (camelCase, as sent)."""
    data = await json_body(request)
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        parts = []
        field = ""
        for err in e.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()))
            msg = str(err.get("msg", "invalid"))
            if err.get("type") == "extra_forbidden":
                msg = "unknown field"
            field = field or loc
            parts.append(f"{loc}: {msg}" if loc else msg)
        raise Invalid("; ".join(parts), field=field or None) from e
