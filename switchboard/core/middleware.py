"""One pure-ASGI middleware for every HTTP request (cheap: no BaseHTTPMiddleware, no
body buffering, one dict look-up or regex per request):

- **Body limits**: a body larger than its endpoint's limit is refused with 413 in the
  API's own error format (``core.errors.render``), from ``Content-Length`` before
  anything is read, and while streaming for chunked bodies (the app's next read of the
  body raises :class:`~switchboard.core.errors.TooLarge`). Limits: uploads
  ``max_upload_bytes`` (+1 MiB of multipart framing), calling-list and DNC imports
  ``lists_max_body_bytes``, everything else ``json_max_body_bytes``;
  :func:`register_body_limit` adds rules.
- **CORS**: only the customer-facing Messaging API (``/clientweb/api/``) is called from
  other sites; there the origins the tenant lists on its chat entries
  (``ScenarioEntry.allowed_origins``) are allowed, with credentials, preflights allowing
  ``Authorization`` and ``Content-Type``. Elsewhere only the operator's ``cors_origins``.
  Per-tenant origin lists are cached (``CORS_CACHE_SECONDS``) and dropped as soon as an
  entry changes, in this process or another (``config:`` on the bus).
- **Headers**: every response carries ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import event, select
from starlette.requests import Request

from switchboard.core import errors
from switchboard.core.errors import BodyTooLarge, DomainError, TooLarge
from switchboard.core.runtime import Runtime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MESSAGING_PREFIX = "/clientweb/api/"
CORS_CACHE_SECONDS = 10.0
UPLOAD_FRAMING = 1024 * 1024
NOSNIFF = (b"x-content-type-options", b"nosniff")
PREFLIGHT_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = b"Location, ETag, X-Switchboard-Cursor"

# (pattern, setting name or a fixed number of bytes); the first match wins
_rules: list[tuple[re.Pattern[str], str | int]] = [
    (re.compile(r"^/clientweb/api/v\d+/files/?$"), "upload"),
    (re.compile(r"^/agentapi/v1/interactions/[^/]+/files/?$"), "upload"),
    (re.compile(r"^/(genesys|GMS-web/gms)/"), "upload"),
    (re.compile(r"^/configapi/v2/(callinglist|donotcalllist)(/|$)"), "lists_max_body_bytes"),
]


def register_body_limit(pattern: str, limit: str | int) -> None:
    """Paths matching ``pattern`` (a regex on the URL path) accept bodies up to
    ``limit``: a number of bytes, "upload" (``max_upload_bytes`` plus multipart framing)
    or the name of an integer setting. Rules registered later are tried first."""
    _rules.insert(0, (re.compile(pattern), limit))


def body_limit(settings: Any, path: str) -> int:
    """The largest body accepted on ``path``."""
    for pattern, limit in _rules:
        if pattern.search(path):
            if isinstance(limit, int):
                return limit
            if limit == "upload":
                return int(settings.max_upload_bytes) + UPLOAD_FRAMING
            return int(getattr(settings, limit))
    return int(settings.json_max_body_bytes)


# ---- CORS origins of the Messaging API, per tenant -------------------------------------

_origins: dict[str, tuple[float, frozenset[str]]] = {}
_ORIGINS_MAX = 10_000


def invalidate_cors_cache() -> None:
    """Forget every cached origin list (an entry changed)."""
    _origins.clear()


class _CorsTap:
    """Drops the cached origin lists when any process says a configuration changed
    (``config:<tenant>`` on the bus): entries changed elsewhere fire no ORM event here."""

    def seen(self, topic: str, payload: str) -> None:
        invalidate_cors_cache()

    def reset(self) -> None:
        invalidate_cors_cache()


def _listen_for_entry_changes() -> None:
    from switchboard.scenarios.models import ScenarioEntry

    def changed(*_args: Any) -> None:
        invalidate_cors_cache()

    for name in ("after_insert", "after_update", "after_delete"):
        if not event.contains(ScenarioEntry, name, changed):
            event.listen(ScenarioEntry, name, changed)


def normalize_origin(value: str) -> str:
    return value.strip().rstrip("/").lower()


async def tenant_origins(rt: Runtime, domain: str) -> frozenset[str]:
    """The origins the tenant's enabled chat entries allow (cached)."""
    rt.bus.catch_up()  # what other processes changed (without Redis)
    now = time.monotonic()
    hit = _origins.get(domain)
    if hit is not None and hit[0] > now:
        return hit[1]
    from switchboard.scenarios.models import ScenarioEntry
    from switchboard.tenants.models import Tenant

    found: set[str] = set()
    names = [domain] + ([domain.split(":", 1)[0]] if ":" in domain else [])
    async with rt.db.read() as s:
        for name in names:
            rows = (
                await s.execute(
                    select(ScenarioEntry.allowed_origins)
                    .join(Tenant, Tenant.id == ScenarioEntry.tenant_id)
                    .where(Tenant.domain == name, ScenarioEntry.enabled.is_(True))
                )
            ).all()
            for (origins,) in rows:
                found.update(normalize_origin(str(o)) for o in origins or [] if o)
            if rows:
                break
    value = frozenset(found)
    if len(_origins) >= _ORIGINS_MAX:
        _origins.clear()
    _origins[domain] = (now + CORS_CACHE_SECONDS, value)
    return value


def _tenant_of(scope: Scope, host: str) -> str:
    from switchboard.tenants.service import normalize_domain

    qs = scope.get("query_string", b"")
    if qs:
        for key, value in parse_qsl(qs.decode("latin-1"), keep_blank_values=True):
            if key.lower() in ("tenanturl", "tenant_url") and value:
                return normalize_domain(value)
    return normalize_domain(host)


def _is_safe_text(value: str) -> bool:
    return "\x00" not in value and len(value) <= 1024


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt
        origins = [normalize_origin(o) for o in rt.settings.cors_origins]
        self.any_origin = "*" in origins
        self.global_origins = frozenset(o for o in origins if o != "*")
        _listen_for_entry_changes()
        if not isinstance(rt.providers.get("cors.tap"), _CorsTap):
            rt.providers["cors.tap"] = tap = _CorsTap()
            rt.bus.tap("config:", tap)

    async def _allowed(self, scope: Scope, origin: str, host: str) -> tuple[bool, bool]:
        """(allowed, with credentials) for a cross-origin request from ``origin``."""
        norm = normalize_origin(origin)
        if norm in self.global_origins:
            return True, True
        path: str = scope["path"]
        if path.startswith(MESSAGING_PREFIX):
            domain = _tenant_of(scope, host)
            if domain and _is_safe_text(domain):
                if norm in await tenant_origins(self.rt, domain):
                    return True, True
        if self.any_origin:
            return True, False
        return False, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = host = ""
        length = acrm = acrh = None
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value.decode("latin-1")
            elif key == b"host":
                host = value.decode("latin-1")
            elif key == b"content-length":
                length = value
            elif key == b"access-control-request-method":
                acrm = value
            elif key == b"access-control-request-headers":
                acrh = value
        method: str = scope["method"]
        cors_headers: list[tuple[bytes, bytes]] = []
        if origin:
            allowed, credentials = await self._allowed(scope, origin, host)
            if method == "OPTIONS" and acrm is not None:
                await self._preflight(scope, receive, send, origin, allowed, credentials, acrh)
                return
            if allowed:
                cors_headers = [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", EXPOSE_HEADERS),
                    (b"vary", b"Origin"),
                ]
                if credentials:
                    cors_headers.append((b"access-control-allow-credentials", b"true"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(k.lower() == NOSNIFF[0] for k, _ in headers):
                    headers.append(NOSNIFF)
                if cors_headers:
                    headers.extend(cors_headers)
                message["headers"] = headers
            await send(message)

        if method in BODY_METHODS:
            limit = body_limit(self.rt.settings, scope["path"])
            if length is not None:
                try:
                    declared = int(length)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope, receive, send_with_headers, limit)
                    return
            receive = _limited(receive, limit)
        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = errors.render(
            Request(scope), TooLarge(f"The request body exceeds {limit} bytes")
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def _preflight(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        origin: str,
        allowed: bool,
        credentials: bool,
        requested_headers: bytes | None,
    ) -> None:
        if not allowed:
            err = DomainError("Cross-origin requests from this origin are not allowed")
            err.status = 403
            err.kind = "forbidden"
            response = errors.render(Request(scope), err)
            response.headers["Vary"] = "Origin"
            response.headers[NOSNIFF[0].decode()] = NOSNIFF[1].decode()
            await response(scope, receive, send)
            return
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", PREFLIGHT_METHODS),
            (
                b"access-control-allow-headers",
                requested_headers or b"Authorization, Content-Type",
            ),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
            NOSNIFF,
        ]
        if credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(f"The request body exceeds {limit} bytes")
        return message

    return wrapped
