"""The Statistics API's error body: ``{"error_code": "<code>", "error_message": "..."}``.

Codes are strings: ``5003`` undecodable JSON, ``1002`` malformed subscription body,
``1003`` unknown statistic, ``4009`` too many active subscriptions; otherwise the HTTP
status (``"400"``, ``"401"``, ``"403"``, ``"404"``, ``"415"``, ``"500"``).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from switchboard.core import errors

PREFIX = "/statsapi"


def format_error(_request: Request, err: errors.DomainError) -> Response:
    code = err.code if err.code and err.code.isdigit() else str(err.status)
    if err.status == 500:
        code = "500"
    headers = {"WWW-Authenticate": 'Bearer realm="statsapi"'} if err.status == 401 else None
    return JSONResponse(
        {"error_code": code, "error_message": err.message},
        status_code=err.status,
        headers=headers,
    )


def install_format() -> None:
    errors.register_format(PREFIX, format_error)
