"""The SMS/MMS API's error body: ``{"error_code": "21211", "error_message": "..."}``.

Codes are strings. Request errors use Twilio's message codes (the resource the seed
describes is Twilio's Message); other failures ``20`` + the HTTP status (``20401``,
``20403``, ``20404``, ``20415``...).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from switchboard.core import errors
from switchboard.core.errors import DomainError

PREFIX = "/clientweb/smsapi"


def code_for(err: DomainError) -> str:
    if err.code and err.code.isdigit():
        return err.code
    return f"20{err.status}"


def format_error(_request: Request, err: DomainError) -> Response:
    headers = {"Cache-Control": "no-store"}
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="smsapi"'
    return JSONResponse(
        {"error_code": code_for(err), "error_message": err.message},
        status_code=err.status,
        headers=headers,
    )


def install() -> None:
    errors.register_format(PREFIX, format_error)
