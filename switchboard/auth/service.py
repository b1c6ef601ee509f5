"""Resolving a bearer or session token to the principal behind it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from switchboard.auth.models import AccessToken
from switchboard.core.db import utcnow
from switchboard.core.errors import Forbidden, Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.core.security import token_digest
from switchboard.tenants.models import Tenant
from switchboard.users.models import Role, User, user_roles


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    tenant_domain: str
    user_id: str
    login_id: str
    privileges: frozenset[str]
    kind: str
    token_id: str

    def has(self, privilege: str) -> bool:
        return privilege in self.privileges

    def require(self, *privileges: str) -> None:
        missing = [p for p in privileges if p not in self.privileges]
        if missing:
            raise Forbidden("Privilege required: " + ", ".join(missing))


class PrincipalCache:
    """Tokens resolved lately, for ``auth_cache_seconds`` (every agent request carries
    one; resolving it costs queries). Forgotten at once when a token is revoked or a user
    changes, in any process (``auth:``, ``config:`` and users' messages on the bus), never
    kept past the token's own expiry."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[float, datetime, Principal]] = {}

    def seen(self, topic: str, payload: str) -> None:
        if topic.startswith(("auth:", "config:")) or topic.endswith(":users"):
            self.found.clear()

    def reset(self) -> None:
        self.found.clear()


CACHE_KEY = "auth.principals"
REVOKED_TOPIC = "auth:revoked"


def principal_cache(rt: Runtime) -> PrincipalCache:
    found = rt.providers.get(CACHE_KEY)
    if isinstance(found, PrincipalCache):
        return found
    cache = PrincipalCache()
    rt.providers[CACHE_KEY] = cache
    for prefix in ("auth:", "tenant:", "config:"):
        rt.bus.tap(prefix, cache)
    return cache


_TOKENS = cast(Table, AccessToken.__table__)
_USERS = cast(Table, User.__table__)
_TENANTS = cast(Table, Tenant.__table__)
_ROLES = cast(Table, Role.__table__)


def _resolve(conn: Connection, digest: str) -> tuple[Any, list[str]] | None:
    row = conn.execute(
        select(
            _TOKENS.c.id,
            _TOKENS.c.kind,
            _TOKENS.c.expires_at,
            _USERS.c.id.label("user_id"),
            _USERS.c.login_id,
            _USERS.c.disabled,
            _TENANTS.c.id.label("tenant_id"),
            _TENANTS.c.domain,
        )
        .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
        .join(_TENANTS, _TENANTS.c.id == _TOKENS.c.tenant_id)
        .where(_TOKENS.c.digest == digest)
    ).first()
    if row is None:
        return None
    privileges: list[str] = []
    for (granted,) in conn.execute(
        select(_ROLES.c.privileges)
        .join(user_roles, user_roles.c.role_id == _ROLES.c.id)
        .where(user_roles.c.user_id == row.user_id)
    ):
        privileges += list(granted or [])
    return row, privileges


async def principal_from_token(rt: Runtime, token: str, kinds: tuple[str, ...]) -> Principal:
    if not token:
        raise Unauthorized("Missing access token")
    digest = token_digest(token)
    now = utcnow()
    cache = principal_cache(rt)
    rt.bus.catch_up()  # revocations and changes made by other processes (without Redis)
    hit = cache.found.get(digest)
    if hit is not None and hit[0] > time.monotonic() and hit[1] > now:
        if hit[2].kind not in kinds:
            raise Unauthorized("Invalid access token")
        return hit[2]
    found = await rt.db.run_read(_resolve, digest)
    if found is None:
        raise Unauthorized("Invalid access token")
    row, privileges = found
    if row.kind not in kinds:
        raise Unauthorized("Invalid access token")
    if row.expires_at <= now:
        raise Unauthorized("Access token expired")
    if row.disabled:
        raise Unauthorized("User is disabled")
    # A lockout (throttled failed logins) concerns new logins only: tokens issued
    # before stay valid, so failed attempts by others never end a user's sessions.
    principal = Principal(
        tenant_id=row.tenant_id,
        tenant_domain=row.domain,
        user_id=row.user_id,
        login_id=row.login_id,
        privileges=frozenset(privileges),
        kind=row.kind,
        token_id=row.id,
    )
    ttl = rt.settings.auth_cache_seconds
    if ttl > 0:
        if len(cache.found) > 50_000:
            cache.found.clear()
        cache.found[digest] = (time.monotonic() + ttl, row.expires_at, principal)
    return principal
