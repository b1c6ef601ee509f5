"""Logins (issuing tokens), revoking tokens, and failed-login throttling.

A login never hashes on the event loop nor inside a database transaction: it reads the
user in a short read transaction, verifies the secret in the hashing threads
(``core.security``), then issues the token in a short write transaction. Unknown tenant,
unknown user, wrong secret and a locked-out account all give the same answer
(``LoginFailed("credentials")``) after the same work (one argon2 verification, against
a dummy hash when there is nothing to verify), so neither the answer nor its time tells
them apart. Failures are throttled per account and per source (``auth.throttle``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.models import AccessToken
from switchboard.auth.service import REVOKED_TOPIC
from switchboard.auth.throttle import LockState, get_throttle
from switchboard.core.db import after_commit, utcnow
from switchboard.core.runtime import Runtime
from switchboard.core.security import new_token, token_digest, verify_secret_async
from switchboard.tenants.models import Tenant
from switchboard.tenants.service import get_by_domain, normalize_domain
from switchboard.users.models import User

log = logging.getLogger(__name__)


class LoginFailed(Exception):
    """Credentials rejected. ``reason``: "credentials" (unknown tenant or user, wrong
    secret, account locked out: deliberately one reason), "disabled" (right secret, user
    disabled) or "throttled" (too many failures from this source: answer 429 with
    ``Retry-After: retry_after``)."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.retry_after + 0.999)))}


@dataclass(frozen=True)
class Issued:
    token: str
    expires_in: int
    tenant_id: str
    tenant_domain: str
    user_id: str
    login_id: str


def _storable(value: str) -> bool:
    """Whether the database can compare ``value`` (no NUL, valid UTF-8): anything else
    cannot name a tenant or user, and must not reach the database driver."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _tenant_key(tenant: Tenant | None, domain: str) -> str:
    if tenant is not None:
        return tenant.id
    return "?" + (normalize_domain(domain) if _storable(domain) else domain)


async def login(
    rt: Runtime,
    *,
    tenant_domain: str,
    login_id: str,
    secret: str,
    using: str,
    kind: str,
    lifetime_seconds: int | None = None,
    source: str = "",
) -> Issued:
    """Check ``secret`` (``using`` = "password" or "api_secret") and issue a token.

    ``source`` is the client's address (``request.client.host``): failures are throttled
    per source too. Raises :class:`LoginFailed`.
    """
    settings = rt.settings
    lifetime = lifetime_seconds or settings.token_lifetime_seconds
    throttle = get_throttle(rt)
    wait = await throttle.source_wait(source)
    if wait > 0:
        raise LoginFailed("throttled", retry_after=wait)
    tenant: Tenant | None = None
    user_id = found_login = domain = ""
    hashed: str | None = None
    disabled = False
    lookup = _storable(tenant_domain) and _storable(login_id)
    async with rt.db.read() as s:
        tenant = await get_by_domain(session=s, domain=tenant_domain) if lookup else None
        if tenant is not None:
            domain = tenant.domain
            row = (
                await s.execute(
                    select(User.id, User.login_id, User.password_hash, User.api_secret_hash)
                    .add_columns(User.disabled)
                    .where(User.tenant_id == tenant.id, User.login_id == login_id)
                )
            ).one_or_none()
            if row is not None:
                user_id, found_login = row[0], row[1]
                hashed = row[2] if using == "password" else row[3]
                disabled = bool(row[4])
    tenant_key = _tenant_key(tenant, tenant_domain)
    locked = await throttle.account_wait(tenant_key, login_id) > 0
    # One verification whatever happens: a dummy hash when there is nothing to check.
    candidate = hashed if (user_id and not locked) else None
    ok = await verify_secret_async(candidate, secret) and candidate is not None
    if not ok:
        if not locked:  # attempts refused while locked out are not counted again
            await throttle.failed(tenant_key, login_id, source)
            if await throttle.account_wait(tenant_key, login_id) > 0 and user_id:
                log.warning("login of %s at %s: delayed after failed attempts", login_id, domain)
        raise LoginFailed("credentials")
    if disabled:
        raise LoginFailed("disabled")
    assert tenant is not None
    await throttle.succeeded(tenant_key, login_id)
    token = new_token()
    now = utcnow()
    async with rt.db.write() as s:
        s.add(
            AccessToken(
                digest=token_digest(token),
                tenant_id=tenant.id,
                user_id=user_id,
                kind=kind,
                expires_at=now + timedelta(seconds=lifetime),
            )
        )
        # Expired tokens of this user are collected on each login.
        await s.execute(
            delete(AccessToken).where(AccessToken.user_id == user_id, AccessToken.expires_at < now)
        )
    return Issued(token, lifetime, tenant.id, domain, user_id, found_login)


async def revoke(rt: Runtime, token: str) -> bool:
    async with rt.db.write() as s:
        result = await s.execute(
            delete(AccessToken).where(AccessToken.digest == token_digest(token))
        )
        after_commit(s, REVOKED_TOPIC, "")
        return bool(getattr(result, "rowcount", 0))


async def revoke_user_tokens_in(
    s: AsyncSession, user_id: str, *, kinds: tuple[str, ...] | None = None
) -> None:
    """Delete the user's tokens in the caller's transaction (password change, disabling,
    new API secret): every session and API client of the user must log in again."""
    stmt = delete(AccessToken).where(AccessToken.user_id == user_id)
    if kinds is not None:
        stmt = stmt.where(AccessToken.kind.in_(kinds))
    await s.execute(stmt)
    after_commit(s, REVOKED_TOPIC, "")


# ---- lock state, as the Configuration API's user/lock shows and clears it -----------


async def lock_state(rt: Runtime, *, tenant_id: str, login_id: str) -> LockState:
    """Whether ``login_id`` of the tenant is locked out (its failures fill a window)."""
    return await get_throttle(rt).state(tenant_id, login_id)


async def clear_lock(rt: Runtime, *, tenant_id: str, login_id: str) -> None:
    """Forget the account's failed logins: the next attempt is checked at once."""
    await get_throttle(rt).clear(tenant_id, login_id)
