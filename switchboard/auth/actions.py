"""Issuing and revoking tokens; failed-login counting and lockout."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from switchboard.auth.models import AccessToken
from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.core.security import new_token, token_digest, verify_secret
from switchboard.tenants.service import get_by_domain
from switchboard.users.models import User

log = logging.getLogger(__name__)


class LoginFailed(Exception):
    """Credentials rejected. ``reason`` is one of: tenant, credentials, locked, disabled."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Issued:
    token: str
    expires_in: int
    tenant_id: str
    tenant_domain: str
    user_id: str
    login_id: str


async def login(
    rt: Runtime,
    *,
    tenant_domain: str,
    login_id: str,
    secret: str,
    using: str,
    kind: str,
    lifetime_seconds: int | None = None,
) -> Issued:
    """Check ``secret`` (``using`` = "password" or "api_secret") and issue a token.

    A failure increments the user's failed-login counter and locks the user once the
    configured threshold is reached; the counter is committed before the failure is
    raised. A success resets the counter.
    """
    settings = rt.settings
    lifetime = lifetime_seconds or settings.token_lifetime_seconds
    failure: str | None = None
    issued: Issued | None = None
    async with rt.db.write() as s:
        tenant = await get_by_domain(session=s, domain=tenant_domain)
        if tenant is None:
            raise LoginFailed("tenant")
        user = (
            await s.execute(
                select(User)
                .where(User.tenant_id == tenant.id, User.login_id == login_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        now = utcnow()
        hashed = None
        if user is not None:
            hashed = user.password_hash if using == "password" else user.api_secret_hash
        if user is None:
            verify_secret(None, secret)
            failure = "credentials"
        elif user.is_locked(now):
            failure = "locked"
        elif not verify_secret(hashed, secret):
            user.failed_logins += 1
            if user.failed_logins >= settings.lockout_threshold:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                log.warning("user %s of %s locked out", user.login_id, tenant.domain)
            failure = "credentials"
        elif user.disabled:
            failure = "disabled"
        else:
            user.failed_logins = 0
            user.locked_until = None
            token = new_token()
            s.add(
                AccessToken(
                    digest=token_digest(token),
                    tenant_id=tenant.id,
                    user_id=user.id,
                    kind=kind,
                    expires_at=now + timedelta(seconds=lifetime),
                )
            )
            # Expired tokens of this user are collected on each login.
            await s.execute(
                delete(AccessToken).where(
                    AccessToken.user_id == user.id, AccessToken.expires_at < now
                )
            )
            issued = Issued(token, lifetime, tenant.id, tenant.domain, user.id, user.login_id)
    if failure is not None or issued is None:
        raise LoginFailed(failure or "credentials")
    return issued


async def revoke(rt: Runtime, token: str) -> bool:
    async with rt.db.write() as s:
        result = await s.execute(
            delete(AccessToken).where(AccessToken.digest == token_digest(token))
        )
        return bool(getattr(result, "rowcount", 0))
