"""``switchboard user list|show|disable|enable|delete|passwd``, ``switchboard apikey
list|revoke`` and ``switchboard tenant show`` (registered on the apps of ``cli.py``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from switchboard.cli_common import console, err_console, run_with_runtime, tenant_id_of
from switchboard.core.runtime import Runtime

TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant domain")]


def register(user_app: typer.Typer, apikey_app: typer.Typer, tenant_app: typer.Typer) -> None:
    user_app.command("list")(user_list)
    user_app.command("show")(user_show)
    user_app.command("disable")(user_disable)
    user_app.command("enable")(user_enable)
    user_app.command("delete")(user_delete)
    user_app.command("passwd")(user_passwd)
    apikey_app.command("list")(apikey_list)
    apikey_app.command("revoke")(apikey_revoke)
    tenant_app.command("show")(tenant_show)


def user_list(
    tenant: TenantOpt,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """List the tenant's users."""
    from switchboard.users import service

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        tid = await tenant_id_of(rt, tenant)
        async with rt.db.read() as s:
            return [
                {
                    "loginId": u.login_id,
                    "name": f"{u.first_name} {u.last_name}".strip(),
                    "team": u.team.name if u.team is not None else None,
                    "roles": sorted(r.name for r in u.roles),
                    "extension": u.extension,
                    "disabled": u.disabled,
                    "apiSecret": u.api_secret_hash is not None,
                }
                for u in await service.list_users(session=s, tenant_id=tid)
            ]

    rows = run_with_runtime(go)
    if as_json:
        for row in rows:
            console.print(json.dumps(row), soft_wrap=True)
        return
    table = Table("login", "name", "team", "roles", "extension", "disabled")
    for r in rows:
        table.add_row(
            r["loginId"],
            r["name"],
            r["team"] or "",
            ", ".join(r["roles"]),
            r["extension"] or "",
            "yes" if r["disabled"] else "",
        )
    console.print(table)


def user_show(login_id: str, tenant: TenantOpt) -> None:
    """Show one user (as the Configuration API does)."""
    from switchboard.users import service

    async def go(rt: Runtime) -> dict[str, Any]:
        tid = await tenant_id_of(rt, tenant)
        async with rt.db.read() as s:
            u = await service.get_by_login_or_raise(session=s, tenant_id=tid, login_id=login_id)
            data: dict[str, Any] = service.to_read(u).model_dump(
                by_alias=True, exclude_none=True, mode="json"
            )
            return data

    console.print_json(json.dumps(run_with_runtime(go)))


def _set_disabled(login_id: str, tenant: str, disabled: bool) -> None:
    from switchboard.users.actions import update_user
    from switchboard.users.schemas import UserUpdate

    async def go(rt: Runtime) -> None:
        tid = await tenant_id_of(rt, tenant)
        data = UserUpdate.model_validate({"disabled": disabled})
        await update_user(rt, tenant_id=tid, login_id=login_id, data=data)

    run_with_runtime(go)
    console.print(f"user {login_id} {'disabled' if disabled else 'enabled'}")


def user_disable(login_id: str, tenant: TenantOpt) -> None:
    """Disable a user: its tokens stop working and it cannot log in."""
    _set_disabled(login_id, tenant, True)


def user_enable(login_id: str, tenant: TenantOpt) -> None:
    """Enable a disabled user again."""
    _set_disabled(login_id, tenant, False)


def user_delete(
    login_id: str,
    tenant: TenantOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a user (its history stays, without the user)."""
    from switchboard.users.actions import delete_user

    if not yes and not typer.confirm(f"Delete user {login_id} of {tenant}?"):
        raise typer.Exit(1)

    async def go(rt: Runtime) -> None:
        await delete_user(rt, tenant_id=await tenant_id_of(rt, tenant), login_id=login_id)

    run_with_runtime(go)
    console.print(f"user {login_id} deleted")


def user_passwd(
    login_id: str,
    tenant: TenantOpt,
    password: Annotated[
        str | None,
        typer.Option(help="The new password (asked for when absent; generated with --generate)"),
    ] = None,
    generate: Annotated[bool, typer.Option("--generate", help="Generate and print one")] = False,
) -> None:
    """Set a user's password."""
    from switchboard.core.errors import Invalid
    from switchboard.core.security import generate_password
    from switchboard.users.actions import update_user
    from switchboard.users.schemas import UserUpdate

    if generate:
        password = generate_password()
    elif password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    assert password is not None
    secret = password

    async def go(rt: Runtime) -> None:
        tid = await tenant_id_of(rt, tenant)
        data = UserUpdate.model_validate({"password": secret})
        await update_user(rt, tenant_id=tid, login_id=login_id, data=data)

    try:
        run_with_runtime(go)
    except Invalid as e:  # pragma: no cover - run_with_runtime maps domain errors
        err_console.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(1) from e
    console.print(f"password of {login_id} changed")
    if generate:
        console.print(f"password: {secret}", soft_wrap=True)


def apikey_list(tenant: TenantOpt) -> None:
    """Users holding an API secret (client_id of OAuth client credentials) and their
    live access tokens."""
    from sqlalchemy import func, select

    from switchboard.auth.models import AccessToken
    from switchboard.core.db import utcnow
    from switchboard.users.models import User

    async def go(rt: Runtime) -> list[tuple[str, int]]:
        tid = await tenant_id_of(rt, tenant)
        async with rt.db.read() as s:
            tokens = (
                select(AccessToken.user_id, func.count().label("n"))
                .where(
                    AccessToken.tenant_id == tid,
                    AccessToken.kind == "oauth",
                    AccessToken.expires_at > utcnow(),
                )
                .group_by(AccessToken.user_id)
                .subquery()
            )
            rows = await s.execute(
                select(User.login_id, func.coalesce(tokens.c.n, 0))
                .outerjoin(tokens, tokens.c.user_id == User.id)
                .where(User.tenant_id == tid, User.api_secret_hash.is_not(None))
                .order_by(User.login_id)
            )
            return [(login, int(n)) for login, n in rows.tuples().all()]

    table = Table("client_id (login)", "live access tokens")
    for login, n in run_with_runtime(go):
        table.add_row(login, str(n))
    console.print(table)


def apikey_revoke(login_id: str, tenant: TenantOpt) -> None:
    """Remove a user's API secret and end its OAuth access tokens at once."""
    from sqlalchemy import delete

    from switchboard.auth.models import AccessToken
    from switchboard.core.db import after_commit
    from switchboard.users.service import get_by_login_or_raise

    async def go(rt: Runtime) -> bool:
        tid = await tenant_id_of(rt, tenant)
        async with rt.db.write() as s:
            user = await get_by_login_or_raise(session=s, tenant_id=tid, login_id=login_id)
            had = user.api_secret_hash is not None
            user.api_secret_hash = None
            await s.execute(
                delete(AccessToken).where(
                    AccessToken.user_id == user.id, AccessToken.kind == "oauth"
                )
            )
            after_commit(s, f"tenant:{tid}:users", user.id)
            return had

    had = run_with_runtime(go)
    console.print(
        f"API secret of {login_id} revoked" if had else f"{login_id} had no API secret",
    )


def tenant_show(domain: str) -> None:
    """A tenant's columns and settings."""
    from switchboard.tenants.service import get_by_domain_or_raise, tenant_read

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.db.read() as s:
            t = await get_by_domain_or_raise(session=s, domain=domain)
            data: dict[str, Any] = tenant_read(t).model_dump(by_alias=True, mode="json")
            return data

    console.print_json(json.dumps(run_with_runtime(go)))
