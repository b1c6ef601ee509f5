"""Helpers shared by the API routers: strict JSON bodies and OpenAPI documentation."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from switchboard.core.errors import Invalid, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)


def validation_message(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "invalid"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


async def json_body(
    request: Request,
    *,
    content_types: tuple[str, ...] = ("application/json",),
    max_bytes: int = 1024 * 1024,
) -> Any:
    """The request's JSON body; 415 on a wrong content type, 400 on undecodable JSON."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype not in content_types:
        raise UnsupportedMediaType(
            "Content-Type must be "
            + " or ".join(content_types)
            + (f", not {ctype}" if ctype else "")
        )
    raw = await request.body()
    if len(raw) > max_bytes:
        raise Invalid("Request body too large")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise Invalid("Request body is not valid JSON", code="5003") from e


async def parse(request: Request, model: type[M], **kwargs: Any) -> M:
    data = await json_body(request, **kwargs)
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise Invalid(validation_message(e)) from e


def body_doc(model: type[BaseModel], content_type: str = "application/json") -> dict[str, Any]:
    """``openapi_extra`` documenting a body that the route parses itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {content_type: {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def bearer_token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return ""
    return value.strip()
