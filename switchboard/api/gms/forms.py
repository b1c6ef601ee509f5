"""Request bodies of the GMS API: multipart forms (values and files), urlencoded forms,
and JSON objects (callback clients send JSON). Everything becomes ``Params``.

A multipart body may carry up to ``max_upload_bytes`` (the core setting, 25 MB); the
limit is enforced on the stream, so an oversized body is refused with 413 before it is
stored anywhere. Urlencoded and JSON bodies are small (at most 1 MiB).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from switchboard.api.common import safe_loads
from switchboard.core.errors import Invalid, TooLarge, UnsupportedMediaType
from switchboard.core.runtime import Runtime
from switchboard.gms.config import gms_settings
from switchboard.gms.schemas import Params, Upload

SMALL_BODY = 1024 * 1024


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    stream = request.stream()
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            await _drain(stream, limit=4 * limit)
            raise TooLarge(f"The request body exceeds {limit} bytes")
        yield chunk


async def _drain(stream: AsyncIterator[bytes], *, limit: int) -> None:
    """Read and drop the rest of the body (bounded), so the client gets the answer."""
    seen = 0
    with contextlib.suppress(Exception):
        async for chunk in stream:
            seen += len(chunk)
            if seen > limit:
                break


async def _small_body(request: Request) -> bytes:
    parts: list[bytes] = []
    async for chunk in _limited(request, SMALL_BODY):
        parts.append(chunk)
    return b"".join(parts)


def _text(key: str, value: Any, max_bytes: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        raise Invalid(f"{key} must be a string, a number or a boolean")
    if len(text.encode()) > max_bytes:
        raise Invalid(f"{key} is longer than {max_bytes} bytes")
    return text


def _check_count(rt: Runtime, params: Params) -> None:
    if len(params.fields) > gms_settings(rt).max_fields:
        raise Invalid(f"More than {gms_settings(rt).max_fields} parameters")


async def _multipart(rt: Runtime, request: Request) -> Params:
    cfg = gms_settings(rt)
    parser = MultiPartParser(
        request.headers,
        _limited(request, rt.settings.max_upload_bytes),
        max_files=cfg.max_files,
        max_fields=cfg.max_fields,
        max_part_size=cfg.max_value_bytes,
    )
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise Invalid(f"Malformed multipart body: {e.message}") from e
    params = Params()
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            params.files.append(
                Upload(
                    key=key,
                    filename=(value.filename or key)[:512],
                    content_type=(value.content_type or "application/octet-stream")[:255],
                    size=int(value.size or 0),
                    file=value.file,
                )
            )
        else:
            params.fields[key] = value
    return params


async def _urlencoded(rt: Runtime, request: Request) -> Params:
    raw = await _small_body(request)
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=gms_settings(rt).max_fields,
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid(f"Malformed form body: {e}") from e
    limit = gms_settings(rt).max_value_bytes
    return Params({k: v for k, v in pairs if _text(k, v, limit) is not None})


async def _json(rt: Runtime, request: Request) -> Params:
    raw = await _small_body(request)
    if not raw.strip():
        return Params()
    data = safe_loads(raw, code=None)  # depth, 64-bit integers, NUL (issue 12)
    if not isinstance(data, dict):
        raise Invalid("The JSON body must be an object")
    limit = gms_settings(rt).max_value_bytes
    fields: dict[str, str] = {}
    for key, value in data.items():
        text = _text(str(key), value, limit)
        if text is not None:
            fields[str(key)] = text
    return Params(fields)


async def read(rt: Runtime, request: Request) -> Params:
    """The body as ``Params`` (empty without a body); 415 for other media types."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        params = await _multipart(rt, request)
    elif ctype == "application/x-www-form-urlencoded":
        params = await _urlencoded(rt, request)
    elif ctype == "application/json" or ctype.endswith("+json"):
        params = await _json(rt, request)
    else:
        body = await _small_body(request)
        if body.strip():
            raise UnsupportedMediaType(
                "Send a multipart/form-data, application/x-www-form-urlencoded "
                "or application/json body"
            )
        params = Params()
    try:
        _check_count(rt, params)
    except BaseException:
        close(params)
        raise
    return params


def close(params: Params) -> None:
    for up in params.files:
        with contextlib.suppress(Exception):
            up.file.close()


@contextlib.asynccontextmanager
async def body_of(rt: Runtime, request: Request) -> AsyncIterator[Params]:
    """``async with body_of(rt, request) as params``: spooled files are closed after."""
    params = await read(rt, request)
    try:
        yield params
    finally:
        close(params)


# ---- what the OpenAPI document says about these bodies ---------------------------------

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json")


def _field(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def form_doc(**fields: str) -> dict[str, Any]:
    """``openapi_extra`` of a GMS body: named fields (name -> description) and any other
    key/value (strings; multipart bodies may also carry files), in each media type
    :func:`read` accepts. No body at all is allowed too."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "_tenant": _field("The tenant's domain (when the host does not name it)"),
            **{name: _field(text) for name, text in fields.items()},
        },
        "additionalProperties": {"type": "string"},
    }
    return {
        "requestBody": {
            "required": False,
            "content": {ctype: {"schema": schema} for ctype in FORM_TYPES},
        }
    }


CALLBACK_DOC = form_doc(
    _customer_number="The number to call back",
    _desired_time="When to call, ISO 8601 (absent: as soon as possible)",
)
SERVICE_DOC = form_doc(
    _phone_number="The customer's number (request-interaction, match-interaction)",
    _provide_code="true: answer with an access code",
    _resource_group="The access numbers' group",
    _expiration_time="Seconds until the service expires",
    _chat_service="request-chat: the chat service",
)
CHAT_DOC = form_doc(
    firstName="The customer's first name",
    lastName="The customer's last name",
    nickname="The customer's nickname",
    emailAddress="The customer's e-mail address",
    subject="The chat's subject",
    text="The first message",
    userId="The chat's user id (requests after the first)",
    secureKey="The chat's secure key (requests after the first)",
    message="send: the message",
    fromPosition="refresh: the transcript from this position",
)
STORAGE_DOC = form_doc()
