"""The ``switchboard`` command: serving, migrations and administration without an API key."""

from __future__ import annotations

import json
import ssl
from typing import Annotated, Any

import typer
from rich.table import Table

from switchboard.api.admin.cli import register as register_admin
from switchboard.api.admin.cli_users import register as register_users
from switchboard.cli_common import console, err_console, run_with_runtime, tenant_id_of
from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings, get_settings
from switchboard.lists.cli import register as register_outbound
from switchboard.ops.cli import register as register_ops

app = typer.Typer(help="Switchboard contact-center server.", no_args_is_help=True)
tenant_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API secrets.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
register_outbound(app)  # lists, campaign, dnc
register_admin(app)  # admin <collection> list|show|create|update|delete
register_users(user_app, apikey_app, tenant_app)  # user list/show/..., apikey list/revoke
register_ops(app)  # backup, restore

__all__ = ["app", "console", "err_console", "main", "run_with_runtime", "tenant_id_of"]


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    from switchboard.migrations import upgrade

    settings = get_settings()
    upgrade(settings)
    console.print(f"database is up to date: {settings.database_url}")


def _tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS options when ``tls_cert_file`` and ``tls_key_file`` are set (HTTPS,
    WebSockets over TLS; docs/deployment-tls.md); exits 2 when they are unusable."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        err_console.print(
            "[red]error:[/red] set both SWITCHBOARD_TLS_CERT_FILE and SWITCHBOARD_TLS_KEY_FILE"
        )
        raise typer.Exit(2)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            cert, key, settings.tls_key_password
        )
    except (OSError, ssl.SSLError) as e:
        err_console.print(
            f"[red]error:[/red] cannot use the TLS certificate {cert} / key {key}: {e}"
        )
        raise typer.Exit(2) from e
    return {
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        "ssl_keyfile_password": settings.tls_key_password,
    }


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes")] = None,
) -> None:
    """Serve every API (run ``switchboard migrate`` first)."""
    import uvicorn

    settings = get_settings()
    tls = _tls_options(settings)
    uvicorn.run(
        "switchboard.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        # held long polls answer within long_poll_seconds: let them (docs/operations.md)
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # logging is ours (core/logs.py): text or JSON lines, access lines with a request
        # id and secrets redacted from query strings
        log_config=None,
        access_log=False,
        # agents' frames are small JSON: compressing each costs more CPU than it saves
        ws_per_message_deflate=settings.ws_compression,
        **tls,
    )


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
) -> None:
    """Migrate, seed the demo tenant on an empty database, print where things are, serve."""
    from switchboard.migrations import upgrade
    from switchboard.tenants.demo import load_saved, seed_demo

    settings = get_settings()
    upgrade(settings)
    created = run_with_runtime(seed_demo, settings)

    async def saved(rt: Runtime) -> object:
        return load_saved(rt)

    creds = created or run_with_runtime(saved, settings)
    h, p = host or settings.host, port or settings.port
    base = f"{'https' if _tls_options(settings) else 'http'}://{h}:{p}"
    table = Table(title="Switchboard", show_header=False)
    table.add_row("Database", settings.database_url)
    table.add_row("Data directory", str(settings.data_dir))
    table.add_row("Bus", "redis " + settings.redis_url if settings.redis_url else "in-process")
    table.add_row("Health", f"{base}/health")
    table.add_row("OpenAPI", f"{base}/openapi.json  (docs: {base}/docs)")
    table.add_row("Start page", f"{base}/")
    table.add_row("Agent desktop", f"{base}/agent/")
    table.add_row("Wallboard", f"{base}/wallboard/")
    table.add_row("Demo chat", f"{base}/chat/  (a customer's chat window, appId test)")
    table.add_row("Metrics", f"{base}/metrics  (Prometheus)")
    console.print(table)
    if creds is not None:
        users = ", ".join(getattr(creds, "users", []))
        console.print(f"Demo tenant:  {getattr(creds, 'tenant', '')}", soft_wrap=True)
        console.print(
            f"API client:   client_id=admin  client_secret={getattr(creds, 'admin_secret', '')}",
            soft_wrap=True,
        )
        console.print(f"Users:        {users}", soft_wrap=True)
        console.print(f"Password:     {getattr(creds, 'password', '')}", soft_wrap=True)
    else:
        console.print("(existing database: demo credentials are not known)")
    serve(host=host, port=port, workers=None)


@tenant_app.command("create")
def tenant_create(
    domain: str,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
) -> None:
    """Create a tenant (with the built-in roles)."""
    from switchboard.tenants.actions import create_tenant

    async def go(rt: Runtime) -> str:
        t = await create_tenant(rt, domain=domain, name=name, timezone=timezone)
        return t.id

    tid = run_with_runtime(go)
    console.print(f"tenant {domain} created ({tid})")


@tenant_app.command("set")
def tenant_set(
    domain: str,
    assignments: Annotated[list[str], typer.Argument(help="KEY=VALUE (VALUE is JSON or text)")],
) -> None:
    """Change tenant settings, e.g. ``timezone=Europe/Paris`` or
    ``scim_allow_username_change=true`` (see docs for the keys each API reads)."""
    from switchboard.tenants.actions import update_settings

    changes: dict[str, object] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            err_console.print(f"[red]error:[/red] expected KEY=VALUE, got {item!r}")
            raise typer.Exit(2)
        try:
            changes[key] = json.loads(raw)
        except ValueError:
            changes[key] = raw

    async def go(rt: Runtime) -> dict[str, object]:
        return await update_settings(rt, domain=domain, changes=changes)

    for key, value in sorted(run_with_runtime(go).items()):
        console.print(f"{key} = {json.dumps(value)}", soft_wrap=True)


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    from sqlalchemy import select

    from switchboard.tenants.models import Tenant

    async def go(rt: Runtime) -> list[tuple[str, str, str]]:
        async with rt.db.read() as s:
            rows = (await s.execute(select(Tenant).order_by(Tenant.domain))).scalars().all()
            return [(t.domain, t.name, t.timezone) for t in rows]

    table = Table("domain", "name", "time zone")
    for row in run_with_runtime(go):
        table.add_row(*row)
    console.print(table)


@user_app.command("create")
def user_create(
    login_id: str,
    tenant: Annotated[str, typer.Option(help="Tenant domain")],
    first_name: Annotated[str, typer.Option(help="First name")],
    last_name: Annotated[str, typer.Option(help="Last name")],
    team: Annotated[str, typer.Option(help="Team name (created if missing)")],
    role: Annotated[list[str] | None, typer.Option(help="Role (repeatable)")] = None,
    skill: Annotated[
        list[str] | None, typer.Option(help="Skill as NAME=LEVEL (repeatable)")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password (generated if absent)")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail")] = None,
    extension: Annotated[str | None, typer.Option(help="Extension (auto if absent)")] = None,
) -> None:
    """Create a user; prints the generated password when none is given."""
    from switchboard.core.security import generate_password
    from switchboard.users.actions import create_user
    from switchboard.users.schemas import UserCreate

    skills: dict[str, int] = {}
    for item in skill or []:
        name, _, level = item.partition("=")
        try:
            skills[name] = int(level or "100")
        except ValueError as e:
            err_console.print(f"[red]error:[/red] bad skill {item!r}: use NAME=LEVEL")
            raise typer.Exit(2) from e
    secret = password or generate_password()

    async def go(rt: Runtime) -> str:
        tid = await tenant_id_of(rt, tenant)
        u = await create_user(
            rt,
            tenant_id=tid,
            create_team=True,
            data=UserCreate(
                login_id=login_id,
                password=secret,
                first_name=first_name,
                last_name=last_name,
                team=team,
                roles=role or [],
                skills=skills,
                email=email,
                extension=extension,
            ),
        )
        return u.extension or ""

    try:
        ext = run_with_runtime(go)
    except ValueError as e:
        err_console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    console.print(f"user {login_id} created in {tenant}, extension {ext}")
    if password is None:
        console.print(f"password: {secret}")


@apikey_app.command("generate")
def apikey_generate(
    login_id: str, tenant: Annotated[str, typer.Option(help="Tenant domain")]
) -> None:
    """Generate a new API secret for a user and print it (it is shown only this once)."""
    from switchboard.users.actions import generate_api_secret

    async def go(rt: Runtime) -> str:
        tid = await tenant_id_of(rt, tenant)
        return await generate_api_secret(rt, tenant_id=tid, login_id=login_id)

    console.print(run_with_runtime(go), soft_wrap=True)


def main() -> None:
    from switchboard.core.logs import configure

    configure(get_settings().log_level)
    app()


if __name__ == "__main__":
    main()
