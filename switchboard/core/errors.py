"""Domain errors, raised by services and actions, rendered by each API in its own format.

Every public API registers a formatter for its URL prefix; one set of exception
handlers then answers every failure in the format of the API that was called.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    kind = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra


class Invalid(DomainError):
    status = 400
    kind = "bad_request"


class Unauthorized(DomainError):
    status = 401
    kind = "unauthorized"


class Forbidden(DomainError):
    status = 403
    kind = "forbidden"


class NotFound(DomainError):
    status = 404
    kind = "not_found"


class MethodNotAllowed(DomainError):
    status = 405
    kind = "method_not_allowed"


class NotAcceptable(DomainError):
    status = 406
    kind = "not_acceptable"


class Conflict(DomainError):
    status = 409
    kind = "conflict"


class TooLarge(DomainError):
    status = 413
    kind = "too_large"


class BodyTooLarge(TooLarge, StarletteHTTPException):
    """Raised by the body-limit middleware while the app reads a body: a domain error
    (rendered in the API's format) that FastAPI's own body parsing lets through as an
    HTTP exception instead of turning it into a 400."""

    def __init__(self, message: str) -> None:
        TooLarge.__init__(self, message)
        self.status_code = 413
        self.detail = message
        self.headers = None


class TooManyRequests(DomainError):
    status = 429
    kind = "too_many_requests"


class UnsupportedMediaType(DomainError):
    status = 415
    kind = "unsupported_media_type"


class Unavailable(DomainError):
    status = 503
    kind = "unavailable"


Formatter = Callable[[Request, DomainError], Response]


def default_format(_request: Request, err: DomainError) -> Response:
    body: dict[str, Any] = {"error": err.kind, "message": err.message}
    if err.code:
        body["code"] = err.code
    body.update(err.extra)
    return JSONResponse(body, status_code=err.status)


_formatters: list[tuple[str, Formatter]] = []


def register_format(prefix: str, formatter: Formatter) -> None:
    """Errors under ``prefix`` are rendered by ``formatter`` (longest prefix wins)."""
    _formatters.append((prefix, formatter))
    _formatters.sort(key=lambda p: len(p[0]), reverse=True)


def render(request: Request, err: DomainError) -> Response:
    path = request.url.path
    response: Response | None = None
    for prefix, formatter in _formatters:
        if path.startswith(prefix):
            response = formatter(request, err)
            break
    if response is None:
        response = default_format(request, err)
    if "retry_after" in err.extra:
        response.headers["Retry-After"] = str(err.extra["retry_after"])
    return response


def describe_validation(exc: RequestValidationError) -> tuple[str, bool]:
    """A readable message, and whether the failure was undecodable JSON."""
    parts: list[str] = []
    bad_json = False
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            bad_json = True
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "header")]
        where = ".".join(loc)
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(parts) or "invalid request", bad_json


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method the request's path takes: each method is matched against the app's
    routes (Starlette's own 405 names only the first matching route's methods)."""
    from starlette.routing import Match

    routes = request.app.router.routes
    methods: list[str] = []
    for method in _METHODS:
        scope = dict(request.scope, method=method)
        if any(route.matches(scope)[0] == Match.FULL for route in routes):
            methods.append(method)
    return methods


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        message, bad_json = describe_validation(exc)
        if bad_json:
            return render(request, Invalid("Error decoding JSON request body", code="5003"))
        return render(request, Invalid(message, code="validation"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        mapping: dict[int, type[DomainError]] = {
            400: Invalid,
            401: Unauthorized,
            403: Forbidden,
            404: NotFound,
            405: MethodNotAllowed,
            406: NotAcceptable,
            409: Conflict,
            413: TooLarge,
            415: UnsupportedMediaType,
        }
        cls = mapping.get(exc.status_code)
        if cls is None:
            return JSONResponse(
                {"error": "http_error", "message": str(exc.detail)},
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such resource: " + request.url.path
        if exc.status_code == 405:
            detail = "Method not allowed"
        response = render(request, cls(detail))
        if exc.status_code == 405:
            allow = allowed_methods(request)
            if allow:
                response.headers["Allow"] = ", ".join(allow)
            elif exc.headers:
                response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = DomainError("Internal server error", code="5500")
        err.status = 500
        err.kind = "internal_error"
        return render(request, err)
