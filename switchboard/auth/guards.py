"""Rules that protect a tenant's access when its users change (issue 12):

- a password change, a new API secret or disabling a user revokes the user's tokens, in
  the same transaction as the change (:func:`after_user_change_in`);
- the last administrator (an enabled user holding *Manage users*, the privilege every
  API client of the Configuration API needs) can be neither deleted, nor disabled, nor
  stripped of that privilege: 409 (:func:`ensure_other_admin_in`).

Callers hold the tenant's provisioning lock (``users.actions.lock_provisioning``) when a
change may remove an administrator, so that two concurrent removals cannot both pass.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.actions import revoke_user_tokens_in
from switchboard.core.errors import Conflict
from switchboard.users.models import Privilege, Role, User, user_roles

LAST_ADMIN = (
    "This is the last administrator of the contact center (enabled, with the privilege "
    "Manage users): it cannot be deleted or disabled nor lose that privilege. Give another "
    "user the System Administrator role first."
)


def is_admin(user: User) -> bool:
    return not user.disabled and Privilege.MANAGE_USERS.value in user.privileges


async def ensure_other_admin_in(s: AsyncSession, user: User) -> None:
    """409 unless another enabled user of the tenant holds *Manage users*."""
    roles = (await s.execute(select(Role).where(Role.tenant_id == user.tenant_id))).scalars()
    admin_roles = [r.id for r in roles if Privilege.MANAGE_USERS.value in (r.privileges or [])]
    others = 0
    if admin_roles:
        others = (
            await s.execute(
                select(func.count(func.distinct(User.id)))
                .select_from(User)
                .join(user_roles, user_roles.c.user_id == User.id)
                .where(
                    User.tenant_id == user.tenant_id,
                    User.id != user.id,
                    User.disabled.is_(False),
                    user_roles.c.role_id.in_(admin_roles),
                )
            )
        ).scalar_one()
    if not others:
        raise Conflict(LAST_ADMIN, code="last_admin")


async def after_user_change_in(
    s: AsyncSession,
    user: User,
    *,
    was_admin: bool,
    old_password_hash: str | None,
    old_api_secret_hash: str | None,
    was_disabled: bool,
) -> None:
    """Apply both rules to a user just changed in the caller's transaction (pass the
    values read before the change)."""
    if was_admin and not is_admin(user):
        await ensure_other_admin_in(s, user)
    if (user.disabled and not was_disabled) or user.password_hash != old_password_hash:
        await revoke_user_tokens_in(s, user.id)
    elif user.api_secret_hash != old_api_secret_hash:
        await revoke_user_tokens_in(s, user.id, kinds=("oauth",))
