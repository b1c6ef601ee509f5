"""Who is calling: the tenant (``tenantUrl``), the scenario entry (``appId``) and the
client (``clientId``, or a cookie for ``WebChat``), from the
``MOBILE-API-140-327-PLAIN`` authorization header.

What real clients send (docs ``client-compatibility.md``): parameter values quoted or
not, any spacing; ``tenantUrl`` with or without scheme, URL-encoded, with a trailing
slash; ``UserAgent`` instead of ``User-Agent``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import and_, select

from switchboard.core.errors import DomainError, Forbidden
from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry
from switchboard.tenants.models import Tenant
from switchboard.tenants.service import normalize_domain

SCHEME = "MOBILE-API-140-327-PLAIN"
WEBCHAT = "webchat"
COOKIE = "sb_webchat_id"
CURSOR_HEADER = "X-Switchboard-Cursor"
_PARAM = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|([^,]*))\s*(?:,|$)')
_COOKIE_VALUE = re.compile(r"^[0-9a-f]{32}$")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def error(status: int, code: str, message: str) -> DomainError:
    err = DomainError(message, code=code)
    err.status = status
    return err


def parse_authorization(value: str | None) -> tuple[str, str]:
    """``(appId, clientId)``, or the documented 2000-2004 errors."""
    if value is None or not value.strip():
        raise Forbidden("Authorization header is missing", code="2000")
    scheme, _, rest = value.strip().partition(" ")
    if scheme.upper() != SCHEME:
        raise Forbidden("Authorization scheme is incorrect", code="2002")
    params: dict[str, str] = {}
    rest = rest.strip()
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.end() == pos:
            raise Forbidden("Authorization parameter format is incorrect", code="2001")
        params[m.group(1).lower()] = (
            m.group(2) if m.group(2) is not None else (m.group(3) or "")
        ).strip()
        pos = m.end()
    app_id = params.get("appid", "")
    client_id = params.get("clientid", "")
    if not app_id:
        raise Forbidden("Authorization parameter is missing: appId", code="2003")
    if not client_id:
        raise Forbidden("Authorization parameter is missing: clientId", code="2004")
    if len(app_id) > 255 or _BAD_CHARS.search(app_id):
        raise Forbidden("Missing or invalid application unique id", code="3000")
    if len(client_id) > 200 or _BAD_CHARS.search(client_id):
        raise Forbidden("Missing or invalid application unique id", code="3000")
    return app_id, client_id


@dataclass
class Client:
    """An authenticated Messaging API caller."""

    rt: Runtime
    version: int
    tenant_id: str
    tenant_domain: str
    tenant_settings: dict[str, Any]
    entry: ScenarioEntry
    client_id: str
    client_key: str
    user_agent: str | None
    new_cookie: str | None = None
    secure: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def respond(self, body: Any, status: int = 200) -> Response:
        response = Response(
            content=json.dumps(body, separators=(",", ":")),
            status_code=status,
            media_type="application/json",
            headers=self.headers or None,
        )
        self.set_cookie(response)
        return response

    def set_cookie(self, response: Response) -> None:
        if self.new_cookie is None:
            return
        response.set_cookie(
            COOKIE,
            self.new_cookie,
            max_age=365 * 24 * 3600,
            path="/",
            httponly=True,
            secure=self.secure,
            # cross-site widgets need SameSite=None, which browsers allow only on https
            samesite="none" if self.secure else "lax",
        )


def user_agent_of(request: Request) -> str | None:
    return request.headers.get("useragent") or request.headers.get("user-agent")


def tenant_candidates(request: Request) -> list[str]:
    """``tenantUrl`` (any spelling of it), else the Host the request was sent to."""
    out: list[str] = []
    for key in ("tenantUrl", "tenanturl", "tenant_url", "TenantUrl"):
        raw = request.query_params.get(key)
        if raw:
            out.append(normalize_domain(raw))
            break
    host = request.headers.get("host")
    if host and not out:
        out.append(normalize_domain(host))
    return [c for c in out if c]


_Found = tuple[Tenant | None, ScenarioEntry | None]
_Key = tuple[tuple[str, ...], str | None, str]
_CACHE_MAX = 20_000
CACHE_KEY = "messaging.auth-cache"


class _Cache:
    """Tenants and entries by what clients name them with. Every Messaging request needs
    them and they change rarely: kept ``chat_auth_cache_seconds``, and forgotten at once
    when a ``config:<tenant>`` message says the configuration changed (any process)."""

    def __init__(self) -> None:
        self.found: dict[_Key, tuple[float, _Found]] = {}
        # lookups under way: concurrent misses of one key share one
        self.pending: dict[_Key, asyncio.Future[_Found]] = {}

    def seen(self, topic: str, payload: str) -> None:
        self.found.clear()

    def reset(self) -> None:
        self.found.clear()


def _cache_of(rt: Runtime) -> _Cache:
    found = rt.providers.get(CACHE_KEY)
    if isinstance(found, _Cache):
        return found
    cache = _Cache()
    rt.providers[CACHE_KEY] = cache
    rt.bus.tap("config:", cache)
    return cache


def clear_cache(rt: Runtime) -> None:
    """Forget the cached tenants and entries."""
    _cache_of(rt).found.clear()


async def _find(
    rt: Runtime, names: list[str], tenant_id: str | None, app_id: str
) -> tuple[Tenant | None, ScenarioEntry | None]:
    ttl = rt.settings.chat_auth_cache_seconds
    if ttl <= 0:
        return await _lookup(rt, names, tenant_id, app_id)
    state = _cache_of(rt)
    rt.bus.catch_up()  # what other processes changed (without Redis)
    cache = state.found
    key = (tuple(names), tenant_id, app_id)
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    pending = state.pending.get(key)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[_Found] = asyncio.get_running_loop().create_future()
    state.pending[key] = future
    try:
        found = await _lookup(rt, names, tenant_id, app_id)
    except BaseException as e:
        future.set_exception(e)
        future.exception()  # retrieved: no "never retrieved" warning without waiters
        raise
    finally:
        state.pending.pop(key, None)
    future.set_result(found)
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = (now + ttl, found)
    return found


async def _lookup(
    rt: Runtime, names: list[str], tenant_id: str | None, app_id: str
) -> tuple[Tenant | None, ScenarioEntry | None]:
    """The tenant (by the first of ``names`` that exists, else by id) and its entry."""
    stmt = select(Tenant, ScenarioEntry).outerjoin(
        ScenarioEntry, and_(ScenarioEntry.tenant_id == Tenant.id, ScenarioEntry.app_id == app_id)
    )
    tries = []
    for name in names:
        tries.append(Tenant.domain == name)
        if ":" in name:
            tries.append(Tenant.domain == name.split(":", 1)[0])
    if tenant_id is not None:
        tries.append(Tenant.id == tenant_id)
    async with rt.db.read() as s:
        for cond in tries:
            row = (await s.execute(stmt.where(cond))).first()
            if row is not None:
                return row[0], row[1]
    return None, None


async def authenticate(request: Request, *, version: int, tenant_hint: str | None = None) -> Client:
    """Resolve the caller; ``tenant_hint`` (a tenant id) serves requests the clients
    send without ``tenantUrl`` (file downloads, profile photos)."""
    rt: Runtime = request.app.state.rt
    names = tenant_candidates(request)
    explicit = any(
        request.query_params.get(k) for k in ("tenantUrl", "tenanturl", "tenant_url", "TenantUrl")
    )
    if not names and tenant_hint is None:
        raise Forbidden("Missing or invalid tenantUrl", code="1000")
    app_id, client_id = parse_authorization(request.headers.get("authorization"))
    tenant, entry = await _find(rt, names, tenant_hint if not explicit else None, app_id)
    if tenant is None:
        raise Forbidden("Missing or invalid tenantUrl", code="1000")
    if tenant_hint is not None and tenant.id != tenant_hint:
        # the object belongs to another tenant than the one named
        raise error(404, "5005", "Chat session is not found")
    if entry is None:
        raise Forbidden("Mobile Launch Point (application) is not found", code="5006")
    if not entry.enabled:
        raise Forbidden("Missing or invalid application unique id", code="3000")
    new_cookie: str | None = None
    if client_id.lower() == WEBCHAT:
        cookie = request.cookies.get(COOKIE, "")
        if not _COOKIE_VALUE.match(cookie):
            cookie = secrets.token_hex(16)
            new_cookie = cookie
        client_key = f"cookie:{cookie}"
    else:
        client_key = client_id
    return Client(
        rt=rt,
        version=version,
        tenant_id=tenant.id,
        tenant_domain=tenant.domain,
        tenant_settings=dict(tenant.settings or {}),
        entry=entry,
        client_id=client_id,
        client_key=client_key,
        user_agent=user_agent_of(request),
        new_cookie=new_cookie,
        # https as uvicorn saw it: X-Forwarded-Proto counts from trusted proxies only
        # (SWITCHBOARD_FORWARDED_ALLOW_IPS), never from anyone who sends it
        secure=request.scope.get("scheme") == "https",
    )
