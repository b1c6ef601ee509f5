"""SCIM error bodies (RFC 7644 §3.12) for every failure under ``/configapi/v2/scim``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from scim2_models import Error, SCIMException

from switchboard.core.errors import DomainError

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"

#: RFC 7644 Table 9.
SCIM_TYPES = frozenset(
    {
        "invalidFilter",
        "tooMany",
        "uniqueness",
        "mutability",
        "invalidSyntax",
        "invalidPath",
        "noTarget",
        "invalidValue",
        "invalidVers",
        "sensitive",
    }
)


class ScimError(DomainError):
    """An error with an explicit HTTP status and ``scimType``."""

    def __init__(self, status: int, message: str, scim_type: str | None = None, **extra: Any):
        super().__init__(message, code=scim_type, **extra)
        self.status = status
        self.kind = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            412: "precondition_failed",
            501: "not_implemented",
        }.get(status, "error")


def method_not_allowed(allowed: list[str]) -> ScimError:
    return ScimError(405, "Method not allowed", allow=", ".join(allowed))


def from_scim_exception(exc: SCIMException) -> ScimError:
    return ScimError(exc.status, exc.detail, exc.scim_type or None)


def from_validation_error(exc: ValidationError) -> ScimError:
    errors = Error.from_validation_errors(exc)
    first = errors[0] if errors else Error(status=400, detail="Invalid request")
    detail = "; ".join(e.detail or "" for e in errors if e.detail) or "Invalid request"
    return ScimError(first.status or 400, detail, first.scim_type or "invalidValue")


def _scim_type(err: DomainError) -> str | None:
    if err.code in SCIM_TYPES:
        return err.code
    if err.status == 400:
        return "invalidSyntax" if err.code == "5003" else "invalidValue"
    if err.status == 409:
        return "uniqueness"
    return None


def render(_request: Request, err: DomainError) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(err.status)}
    scim_type = _scim_type(err)
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = err.message
    headers: dict[str, str] = {}
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    if err.status == 405 and err.extra.get("allow"):
        headers["Allow"] = str(err.extra["allow"])
    return JSONResponse(body, status_code=err.status, media_type=SCIM_MEDIA_TYPE, headers=headers)
