"""The Messaging API's error body: ``{"error_code": "5005", "error_message": "..."}``."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response

from switchboard.core import errors
from switchboard.core.errors import DomainError

PREFIX = "/clientweb"

# the code of errors raised without a Messaging API code, by HTTP status
BY_STATUS = {
    400: "5003",
    401: "2000",
    403: "2000",
    405: "5955",
    406: "5955",
    413: "5501",
    415: "5003",
    500: "5500",
    503: "5001",
}


def code_for(err: DomainError) -> str:
    if err.code and err.code.isdigit():
        return err.code
    return BY_STATUS.get(err.status, "5955")


def format_error(_request: Request, err: DomainError) -> Response:
    body = {"error_code": code_for(err), "error_message": err.message}
    return Response(
        content=json.dumps(body),
        status_code=err.status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def install() -> None:
    errors.register_format(PREFIX, format_error)
