"""GMS error bodies: plain JSON ``{"message": ..., "exception": ...}`` with the HTTP
status. The Chat API v2 (``/genesys/2/chat``) adds what its clients read:
``{"statusCode": 2, "errors": [{"code": ..., "advice": ...}]}``."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response

from switchboard.core import errors
from switchboard.core.errors import DomainError

PREFIX = "/genesys"
ALIAS_PREFIX = "/GMS-web/gms"
CHAT_PREFIX = "/genesys/2/chat"

EXCEPTIONS = {
    400: "InvalidParameterException",
    401: "AuthenticationException",
    403: "SecurityException",
    404: "NotFoundException",
    405: "MethodNotAllowedException",
    409: "ConflictException",
    413: "PayloadTooLargeException",
    415: "UnsupportedMediaTypeException",
    503: "ServiceUnavailableException",
    507: "InsufficientStorageException",
}
# the Chat API v2 error codes (ours; the body's statusCode is always 2)
CHAT_CODES = {400: 102, 403: 104, 404: 103, 409: 105, 413: 106, 503: 107, 507: 106}


def exception_name(status: int) -> str:
    return EXCEPTIONS.get(status, "InternalErrorException")


def _respond(body: dict[str, object], status: int) -> Response:
    return Response(
        content=json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def format_error(_request: Request, err: DomainError) -> Response:
    return _respond({"message": err.message, "exception": exception_name(err.status)}, err.status)


def format_chat_error(_request: Request, err: DomainError) -> Response:
    body: dict[str, object] = {
        "statusCode": 2,
        "errors": [{"code": CHAT_CODES.get(err.status, 100), "advice": err.message}],
        "message": err.message,
        "exception": exception_name(err.status),
    }
    return _respond(body, err.status)


def install() -> None:
    errors.register_format(PREFIX, format_error)
    errors.register_format(ALIAS_PREFIX, format_error)
    errors.register_format(CHAT_PREFIX, format_chat_error)
