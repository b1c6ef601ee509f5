"""Resolving a bearer or session token to the principal behind it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from switchboard.auth.models import AccessToken
from switchboard.core.db import utcnow
from switchboard.core.errors import Forbidden, Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.core.security import token_digest
from switchboard.tenants.models import Tenant
from switchboard.users.models import User


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


async def principal_from_token(rt: Runtime, token: str, kinds: tuple[str, ...]) -> Principal:
    if not token:
        raise Unauthorized("Missing access token")
    async with rt.db.read() as s:
        row = (
            await s.execute(
                select(AccessToken, User, Tenant)
                .join(User, User.id == AccessToken.user_id)
                .join(Tenant, Tenant.id == AccessToken.tenant_id)
                .where(AccessToken.digest == token_digest(token))
            )
        ).one_or_none()
        if row is None:
            raise Unauthorized("Invalid access token")
        tok, user, tenant = row
        now = utcnow()
        if tok.kind not in kinds:
            raise Unauthorized("Invalid access token")
        if tok.expires_at <= now:
            raise Unauthorized("Access token expired")
        if user.disabled:
            raise Unauthorized("User is disabled")
        # A lockout (throttled failed logins) concerns new logins only: tokens issued
        # before stay valid, so failed attempts by others never end a user's sessions.
        return Principal(
            tenant_id=tenant.id,
            tenant_domain=tenant.domain,
            user_id=user.id,
            login_id=user.login_id,
            privileges=frozenset(user.privileges),
            kind=tok.kind,
            token_id=tok.id,
        )
