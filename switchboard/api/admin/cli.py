"""``switchboard admin <collection> list|show|create|update|delete``: the Administration
API's collections from the command line, through the same validation and actions.

Fields are ``KEY=VALUE`` pairs: keys as in the API (camelCase) or snake_case; a VALUE is
read as JSON when it parses (``priority=5``, ``enabled=false``,
``requestedSkills='{"Sales": 50}'``), as text otherwise.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from switchboard.api.admin.catalog import Resource
from switchboard.cli_common import console, err_console, run_with_runtime, tenant_id_of
from switchboard.core.runtime import Runtime

admin_app = typer.Typer(
    help="Configure a tenant: entries, hours, numbers, skills, services, dispositions, "
    "not-ready reasons, teams, roles, canned responses.",
    no_args_is_help=True,
)
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant domain")]
Fields = Annotated[
    list[str] | None, typer.Argument(help="KEY=VALUE fields (VALUE is JSON or text)")
]


def register(app: typer.Typer) -> None:
    from switchboard.api.admin.catalog import RESOURCES

    for res in RESOURCES:
        admin_app.add_typer(_commands(res), name=res.path.strip("/"))
    app.add_typer(admin_app, name="admin")


def parse_fields(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            err_console.print(f"[red]error:[/red] expected KEY=VALUE, got {item!r}")
            raise typer.Exit(2)
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def _model(model: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        msg = "unknown field" if first.get("type") == "extra_forbidden" else first.get("msg")
        err_console.print(f"[red]error:[/red] {loc}: {msg}" if loc else f"[red]error:[/red] {msg}")
        raise typer.Exit(2) from e


def _dump(obj: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = obj.model_dump(by_alias=True, mode="json")
    return data


def _commands(res: Resource) -> typer.Typer:
    sub = typer.Typer(help=f"Manage {res.plural}.", no_args_is_help=True)

    async def read_one(rt: Runtime, tenant_id: str, ref: str) -> dict[str, Any]:
        async with rt.db.read() as s:
            return _dump(await res.read(s, await res.find(s, tenant_id, ref)))

    @sub.command("list")
    def list_cmd(
        tenant: TenantOpt,
        as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
    ) -> None:
        """List them."""

        async def go(rt: Runtime) -> list[dict[str, Any]]:
            tid = await tenant_id_of(rt, tenant)
            async with rt.db.read() as s:
                return [_dump(await res.read(s, x)) for x in await res.list_all(s, tid)]

        rows = run_with_runtime(go)
        if as_json:
            for row in rows:
                console.print_json(json.dumps(row))
            return
        if not rows:
            console.print(f"(no {res.plural})")
            return
        columns = [k for k in rows[0] if k != "id"][:6]
        table = Table(*columns)
        for row in rows:
            table.add_row(
                *(v if isinstance(v, str) else json.dumps(v) for v in (row.get(c) for c in columns))
            )
        console.print(table)

    @sub.command("show", help=f"Show one, by its {res.key}.")
    def show_cmd(ref: str, tenant: TenantOpt) -> None:

        async def go(rt: Runtime) -> dict[str, Any]:
            return await read_one(rt, await tenant_id_of(rt, tenant), ref)

        console.print_json(json.dumps(run_with_runtime(go)))

    @sub.command("create")
    def create_cmd(tenant: TenantOpt, fields: Fields = None) -> None:
        """Create one from KEY=VALUE fields."""
        data = _model(res.create_model, parse_fields(fields or []))

        async def go(rt: Runtime) -> dict[str, Any]:
            tid = await tenant_id_of(rt, tenant)
            row = await res.create(rt, tid, data)
            return await read_one(rt, tid, row.id)

        console.print_json(json.dumps(run_with_runtime(go)))

    @sub.command("update")
    def update_cmd(ref: str, tenant: TenantOpt, fields: Fields = None) -> None:
        """Change the fields given (KEY=VALUE) of one."""
        data = _model(res.update_model, parse_fields(fields or []))

        async def go(rt: Runtime) -> dict[str, Any]:
            tid = await tenant_id_of(rt, tenant)
            row = await res.update(rt, tid, ref, data)
            return await read_one(rt, tid, row.id)

        console.print_json(json.dumps(run_with_runtime(go)))

    @sub.command("delete")
    def delete_cmd(ref: str, tenant: TenantOpt) -> None:
        """Delete one."""

        async def go(rt: Runtime) -> None:
            await res.delete(rt, await tenant_id_of(rt, tenant), ref)

        run_with_runtime(go)
        console.print(f"{res.singular} {ref} deleted")

    return sub
