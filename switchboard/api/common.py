"""Helpers shared by the API routers: strict, bounded JSON bodies, bounded query
integers, the client's address, and OpenAPI documentation.

Every JSON document a router reads goes through :func:`safe_loads`: it refuses (400,
in the API's own error format) nesting deeper than ``json_max_depth``, integers beyond
64 bits, non-finite numbers, NUL characters and unpaired surrogates (which PostgreSQL
cannot store), instead of failing later with a 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, Field, ValidationError

from switchboard.core.errors import Invalid, TooLarge, UnsupportedMediaType

M = TypeVar("M", bound=BaseModel)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_BYTES = 1024 * 1024

# A query or body integer that the database can store (PostgreSQL BIGINT).
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
NonNegInt64 = Annotated[int, Field(ge=0, le=INT64_MAX)]

_SURROGATE = re.compile("[\ud800-\udfff]")

# Content types of JSON documents. Where the seed's Postman collection sends raw bodies
# (sent as text/plain, or with no type at all), routers also accept LENIENT_JSON_TYPES;
# anything else (forms, XML, files) is a 415.
JSON_TYPES = ("application/json",)
LENIENT_JSON_TYPES = ("application/json", "text/plain", "")


def _bad(message: str, code: str | None) -> Invalid:
    return Invalid(message, code=code) if code else Invalid(message)


def check_text(value: str, where: str = "", *, code: str | None = "5003") -> None:
    """400 unless the database can store ``value``: no NUL, no unpaired surrogate."""
    if "\x00" in value:
        raise _bad(f"NUL characters are not allowed{' in ' + where if where else ''}", code)
    if _SURROGATE.search(value):
        raise _bad(f"Invalid Unicode (unpaired surrogate){' in ' + where if where else ''}", code)


def check_document(
    data: Any, *, max_depth: int = DEFAULT_MAX_DEPTH, code: str | None = "5003"
) -> None:
    """Walk a decoded JSON document (iteratively): depth, integer range, finite
    numbers, storable strings (keys included)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise _bad(f"The JSON document is nested deeper than {max_depth} levels", code)
            for k, v in node.items():
                check_text(k, "a key", code=code)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise _bad(f"The JSON document is nested deeper than {max_depth} levels", code)
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            check_text(node, code=code)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                raise _bad("Integers must fit in 64 bits", code)
        elif isinstance(node, float) and not math.isfinite(node):
            raise _bad("Numbers must be finite", code)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def safe_loads(
    raw: bytes | str,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    code: str | None = "5003",
) -> Any:
    """Decode a JSON document safely (see the module docstring); 400 ``Invalid`` with
    ``code`` on anything wrong."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError as e:
        raise _bad(f"The JSON document is nested deeper than {max_depth} levels", code) from e
    except (ValueError, UnicodeDecodeError) as e:
        raise _bad(f"Request body is not valid JSON: {e}", code) from e
    check_document(data, max_depth=max_depth, code=code)
    return data


def _settings_of(request: Request) -> tuple[int, int]:
    rt = getattr(request.app.state, "rt", None)
    settings = getattr(rt, "settings", None)
    return (
        int(getattr(settings, "json_max_depth", DEFAULT_MAX_DEPTH)),
        int(getattr(settings, "json_max_body_bytes", DEFAULT_MAX_BYTES)),
    )


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json_type(ctype: str, content_types: tuple[str, ...]) -> bool:
    return ctype in content_types or (ctype.startswith("application/") and ctype.endswith("+json"))


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``max_bytes`` (while streaming)."""
    parts: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > max_bytes:
            raise TooLarge(f"The request body exceeds {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def json_body(
    request: Request,
    *,
    content_types: tuple[str, ...] = JSON_TYPES,
    max_bytes: int | None = None,
    code: str | None = "5003",
) -> Any:
    """The request's JSON document; 415 on a content type that cannot be JSON, 413 when
    larger than ``max_bytes`` (default ``json_max_body_bytes``), 400 when undecodable or
    unsafe (:func:`safe_loads`)."""
    ctype = media_type(request)
    if not is_json_type(ctype, content_types):
        raise UnsupportedMediaType(
            "Content-Type must be "
            + " or ".join(t for t in content_types if t)
            + (f", not {ctype}" if ctype else "")
        )
    depth, default_max = _settings_of(request)
    raw = await read_body(request, max_bytes or default_max)
    request._body = raw  # later reads of request.body() see the same bytes
    return safe_loads(raw, max_depth=depth, code=code)


async def json_object(request: Request, *, empty_ok: bool = False, **kwargs: Any) -> dict[str, Any]:
    """:func:`json_body` that must be an object (``{}`` for an empty body if
    ``empty_ok``)."""
    if empty_ok:
        raw = await request.body()
        if not raw.strip():
            return {}
    data = await json_body(request, **kwargs)
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object", code=kwargs.get("code", "5003"))
    return data


def validation_message(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "invalid"))
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


async def parse(request: Request, model: type[M], **kwargs: Any) -> M:
    data = await json_body(request, **kwargs)
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise Invalid(validation_message(e)) from e


def query_int(
    request: Request,
    name: str,
    default: int | None = None,
    *,
    minimum: int = INT64_MIN,
    maximum: int = INT64_MAX,
    code: str | None = None,
) -> int | None:
    """A query parameter read by hand as an integer within ``[minimum, maximum]`` (64
    bits at most): 400 otherwise, never a database error."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if len(text) > 20 or not re.fullmatch(r"[+-]?\d+", text):
        raise _bad(f"{name} must be an integer between {minimum} and {maximum}", code)
    value = int(text)
    if not minimum <= value <= maximum:
        raise _bad(f"{name} must be an integer between {minimum} and {maximum}", code)
    return value


def client_address(request: Request) -> str:
    """The client's address (behind a proxy: what uvicorn's ``--proxy-headers`` set)."""
    return request.client.host if request.client else ""


def body_doc(
    model: type[BaseModel] | dict[str, Any],
    content_type: str = "application/json",
    *,
    required: bool = True,
    also: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``openapi_extra`` documenting a body that the route parses itself (a model or a
    JSON schema; ``also``: more media types accepted with the same schema)."""
    schema = model if isinstance(model, dict) else model.model_json_schema(by_alias=True)
    content = {content_type: {"schema": schema}}
    for extra in also:
        content[extra] = {"schema": schema}
    return {"requestBody": {"required": required, "content": content}}


def bearer_token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return ""
    return value.strip()
