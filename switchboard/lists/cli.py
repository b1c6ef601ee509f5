"""``switchboard lists|campaign|dnc ...``: outbound administration from the command line.

``switchboard/cli.py`` calls ``register(app)``. The shared helpers come from
``switchboard.cli_common`` (not from ``switchboard.cli``: no import cycle).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from switchboard.cli_common import console, err_console, run_with_runtime, tenant_id_of
from switchboard.core.runtime import Runtime

lists_app = typer.Typer(help="Manage calling lists.", no_args_is_help=True)
campaign_app = typer.Typer(help="Manage outbound campaigns.", no_args_is_help=True)
dnc_app = typer.Typer(help="Manage Do-Not-Call lists.", no_args_is_help=True)

__all__ = ["register", "run_with_runtime", "tenant_id_of"]


def register(app: typer.Typer) -> None:
    """Add ``lists``, ``campaign`` and ``dnc`` to the ``switchboard`` command."""
    app.add_typer(lists_app, name="lists")
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(dnc_app, name="dnc")


TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant domain")]
BATCH = 5000
T = TypeVar("T")


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeRemainingColumn(),
        console=console,
    )


def _count_rows(path: Path) -> int:
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def _batches(reader: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in reader:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"


def text_or_exit(path: Path) -> str:
    """The start of ``path`` as text; exits with one clear line when it is binary (NUL
    bytes, or not UTF-8: a spreadsheet, a zip, an image...)."""
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or b"\x00" in head:
        err_console.print(
            f"[red]error:[/red] {path.name} is a binary file, not a CSV text file "
            "(export it as CSV first)",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a character cut at the end of the sample
            err_console.print(
                f"[red]error:[/red] {path.name} is not UTF-8 text (byte {e.start + 1}); "
                "save it as CSV UTF-8",
                soft_wrap=True,
            )
            raise typer.Exit(2) from e
        text = head[: e.start].decode("utf-8-sig")
    return text


def detect_delimiter(sample: str, given: str | None) -> str:
    """``given``, else the delimiter of the sample's first lines (``,`` ``;`` tab ``|``)."""
    if given:
        return "\t" if given in ("\\t", "tab", "TAB") else given
    lines = [ln for ln in sample.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def phone_problem(value: str, region: str) -> str | None:
    """Why ``value`` is not a phone number (None when it is one, or when it is empty)."""
    from switchboard.dnc.phones import normalize

    if not value.strip():
        return None
    if normalize(value, region) is None:
        return f"{value!r} is not a phone number"
    return None


# ---- calling lists ---------------------------------------------------------------------


@lists_app.command("create")
def lists_create(
    name: str,
    tenant: TenantOpt,
    field: Annotated[list[str], typer.Option(help="Field name (repeatable, in order)")],
    key: Annotated[list[str], typer.Option(help="Key field (repeatable)")],
    phone: Annotated[list[str], typer.Option(help="Phone field (repeatable, dial order)")],
    required: Annotated[list[str] | None, typer.Option(help="Required field")] = None,
    timezone_field: Annotated[str | None, typer.Option(help="Time-zone field")] = None,
    postal_field: Annotated[str | None, typer.Option(help="Postal-code field")] = None,
) -> None:
    """Create a calling list from its definition."""
    _create_list(tenant, name, field, key, phone, required or [], timezone_field, postal_field)
    console.print(f"calling list {name} created in {tenant}")


def _create_list(
    tenant: str,
    name: str,
    fields: list[str],
    keys: list[str],
    phones: list[str],
    required: list[str],
    timezone_field: str | None,
    postal_field: str | None,
) -> None:
    from pydantic import ValidationError

    from switchboard.lists.actions import create_list
    from switchboard.lists.schemas import CallingListCreate

    try:
        data = CallingListCreate(
            name=name,
            fields=fields,
            keys=keys,
            required=required,
            phone_fields=phones,
            time_zone_field=timezone_field,
            postal_code_field=postal_field,
        )
    except ValidationError as e:
        err_console.print(f"[red]error:[/red] {e.errors()[0]['msg']}")
        raise typer.Exit(2) from e

    async def go(rt: Runtime) -> None:
        await create_list(rt, tenant_id=await tenant_id_of(rt, tenant), data=data)

    run_with_runtime(go)


@lists_app.command("import")
def lists_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header")],
    tenant: TenantOpt,
    list_name: Annotated[
        str | None, typer.Option("--list", help="Calling list (default: the file's name)")
    ] = None,
    key: Annotated[
        list[str] | None, typer.Option(help="Key field if the list is created (default: 1st)")
    ] = None,
    phone: Annotated[
        list[str] | None,
        typer.Option(help="Phone field if the list is created (default: columns named *phone*)"),
    ] = None,
    timezone_field: Annotated[str | None, typer.Option(help="Time-zone field (new list)")] = None,
    campaign: Annotated[str | None, typer.Option(help="Bind the list to this campaign")] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: detected: , ; tab |)")
    ] = None,
    upsert: Annotated[
        bool, typer.Option("--upsert", help="Update records whose key is already listed")
    ] = False,
) -> None:
    """Load records from a CSV file (creating the list from its header when needed).
    Phone numbers are checked; rejected rows are reported by their line in the file."""
    from switchboard.core.errors import DomainError
    from switchboard.lists import service
    from switchboard.lists.actions import lists_topic
    from switchboard.lists.models import CallingList

    name = list_name or file.name
    sep = detect_delimiter(text_or_exit(file), delimiter)
    with file.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        header = next(csv.reader(f, delimiter=sep), None)
    if not header or not any(h.strip() for h in header):
        err_console.print("[red]error:[/red] the file has no header row")
        raise typer.Exit(2)

    async def exists(rt: Runtime) -> bool:
        async with rt.db.read() as s:
            tid = await tenant_id_of(rt, tenant)
            return await service.get_list(session=s, tenant_id=tid, name=name) is not None

    if not run_with_runtime(exists):
        phones = phone or [h for h in header if "phone" in h.lower()]
        if not phones:
            err_console.print("[red]error:[/red] no phone column: name one with --phone")
            raise typer.Exit(2)
        keys = key or [header[0]]
        _create_list(tenant, name, header, keys, phones, keys, timezone_field, None)
        console.print(f"created calling list {name} (keys {keys}, phones {phones})")

    total = _count_rows(file)
    errors: list[tuple[int, str]] = []
    counts = {"added": 0, "updated": 0}

    async def load(rt: Runtime) -> None:
        from sqlalchemy import select

        tid = await tenant_id_of(rt, tenant)
        region = rt.settings.default_phone_region
        with (
            _progress() as progress,
            file.open(newline="", encoding="utf-8-sig", errors="replace") as f,
        ):
            task = progress.add_task(f"importing {file.name}", total=total)
            reader = csv.DictReader(f, delimiter=sep)
            done = 0

            def numbered() -> Iterator[tuple[int, dict[str, Any]]]:
                for row in reader:
                    yield reader.line_num, row

            for batch in _batches(numbered(), BATCH):
                async with rt.db.write() as s:
                    defn = (
                        await s.execute(
                            select(CallingList)
                            .where(CallingList.tenant_id == tid, CallingList.name == name)
                            .with_for_update()
                        )
                    ).scalar_one()
                    if defn.read_only:
                        raise DomainError(f"calling list {name} is read-only")
                    rows: list[dict[str, Any]] = []
                    lines: list[int] = []
                    for line, r in batch:
                        if None in r:
                            errors.append((line, f"{len(r[None])} more values than columns"))
                            continue
                        bad = next(
                            (
                                f"{field}: {problem}"
                                for field in defn.phone_fields
                                if (problem := phone_problem(str(r.get(field) or ""), region))
                            ),
                            None,
                        )
                        if bad:
                            errors.append((line, bad))
                            continue
                        rows.append({k: v for k, v in r.items() if v is not None})
                        lines.append(line)
                    added, updated, failed = await import_rows(s, defn, rows, upsert=upsert)
                counts["added"] += added
                counts["updated"] += updated
                errors.extend((lines[i], message) for i, message in failed)
                done += len(batch)
                progress.update(task, completed=done)
        await rt.bus.publish(lists_topic(tid), "")
        await rt.bus.publish("dialer:wake", tid)

    run_with_runtime(load)
    errors.sort()
    summary = f"{counts['added']:,} records added to {name}"
    if upsert:
        summary += f", {counts['updated']:,} updated"
    console.print(f"{summary}; {len(errors):,} rejected")
    for line, message in errors[:20]:
        console.print(f"  line {line}: {message}", soft_wrap=True)
    if len(errors) > 20:
        console.print(f"  ... and {len(errors) - 20:,} more")
    if campaign:
        _bind(tenant, name, campaign, True)
        console.print(f"{name} bound to campaign {campaign}")


async def import_rows(
    s: Any, defn: Any, rows: list[dict[str, Any]], *, upsert: bool
) -> tuple[int, int, list[tuple[int, str]]]:
    """Insert ``rows`` into the locked list ``defn`` in the caller's transaction; with
    ``upsert``, rows whose key is already listed update that record (their fields merged).
    Returns (added, updated, [(position in rows, error)])."""
    from sqlalchemy import select

    from switchboard.core.db import utcnow
    from switchboard.lists.actions import insert_records
    from switchboard.lists.models import CallingRecord
    from switchboard.lists.records import RecordError, clean, field_map

    updated = 0
    failed: list[tuple[int, str]] = []
    fresh_rows, fresh_pos = rows, list(range(len(rows)))
    if upsert and rows:
        fmap = field_map(defn)
        keyed: dict[str, tuple[int, dict[str, str]]] = {}
        for pos, row in enumerate(rows):
            try:
                data, key = clean(defn, row, fmap=fmap)
            except RecordError:
                continue  # insert_records reports it
            keyed[key] = (pos, data)
        existing = (
            (
                await s.execute(
                    select(CallingRecord).where(
                        CallingRecord.list_id == defn.id,
                        CallingRecord.key.in_(list(keyed)),
                    )
                )
            )
            .scalars()
            .all()
            if keyed
            else []
        )
        now = utcnow()
        taken = set()
        for rec in existing:
            pos, data = keyed[rec.key]
            rec.data = {**rec.data, **data}
            rec.updated_at = now
            taken.add(pos)
            updated += 1
        fresh_pos = [p for p in range(len(rows)) if p not in taken]
        fresh_rows = [rows[p] for p in fresh_pos]
    result = await insert_records(s, defn, fresh_rows)
    for e in result.errors:
        failed.append((fresh_pos[int(e["index"])], str(e["error"])))
    return result.added, updated, failed


def _bind(tenant: str, list_name: str, campaign: str, bound: bool) -> None:
    from switchboard.campaigns.actions import bind_list

    async def go(rt: Runtime) -> None:
        await bind_list(
            rt,
            tenant_id=await tenant_id_of(rt, tenant),
            campaign=campaign,
            list_name=list_name,
            bound=bound,
        )

    run_with_runtime(go)


@lists_app.command("bind")
def lists_bind(
    list_name: str,
    campaign: str,
    tenant: TenantOpt,
    unbind: Annotated[bool, typer.Option("--unbind", help="Remove the binding")] = False,
) -> None:
    """Bind a calling list to a campaign (or unbind it)."""
    _bind(tenant, list_name, campaign, not unbind)
    console.print(f"{list_name} {'unbound from' if unbind else 'bound to'} {campaign}")


@lists_app.command("list")
def lists_list(tenant: TenantOpt) -> None:
    """Calling lists with their size and campaigns."""
    from switchboard.lists import service

    async def go(rt: Runtime) -> list[Any]:
        async with rt.db.read() as s:
            tid = await tenant_id_of(rt, tenant)
            return [
                await service.to_read(session=s, defn=d)
                for d in await service.list_lists(session=s, tenant_id=tid)
            ]

    table = Table("name", "records", "keys", "phones", "campaigns")
    for d in run_with_runtime(go):
        table.add_row(
            d.name,
            f"{d.size:,}",
            ", ".join(d.keys),
            ", ".join(d.phone_fields),
            ", ".join(d.campaigns),
        )
    console.print(table)


# ---- campaigns ------------------------------------------------------------------------


@campaign_app.command("create")
def campaign_create(
    name: str,
    tenant: TenantOpt,
    mode: Annotated[str, typer.Option(help="preview or progressive")] = "progressive",
    service: Annotated[str | None, typer.Option(help="Service (skills, dispositions)")] = None,
    list_name: Annotated[
        list[str] | None, typer.Option("--list", help="Calling list (repeatable)")
    ] = None,
    max_attempts: Annotated[int, typer.Option(help="Dial attempts per record")] = 3,
    caller_id: Annotated[str | None, typer.Option(help="Caller id")] = None,
    timezone: Annotated[str | None, typer.Option(help="Fallback time zone")] = None,
) -> None:
    """Create a (stopped) campaign."""
    from pydantic import ValidationError

    from switchboard.campaigns.actions import create
    from switchboard.campaigns.schemas import CampaignCreate

    try:
        data = CampaignCreate.model_validate(
            {
                "name": name,
                "mode": mode,
                "service": service,
                "lists": list_name or [],
                "maxAttempts": max_attempts,
                "callerId": caller_id,
                "timeZone": timezone,
            }
        )
    except ValidationError as e:
        err_console.print(f"[red]error:[/red] {e.errors()[0]['msg']}")
        raise typer.Exit(2) from e

    async def go(rt: Runtime) -> None:
        await create(rt, tenant_id=await tenant_id_of(rt, tenant), data=data)

    run_with_runtime(go)
    console.print(f"campaign {name} created (stopped)")


def _set_state(tenant: str, name: str, running: bool) -> None:
    from switchboard.campaigns.actions import set_state

    async def go(rt: Runtime) -> str:
        c = await set_state(
            rt, tenant_id=await tenant_id_of(rt, tenant), name=name, running=running
        )
        return c.state

    console.print(f"campaign {name}: {run_with_runtime(go)}")


@campaign_app.command("start")
def campaign_start(name: str, tenant: TenantOpt) -> None:
    """Start dialing a campaign."""
    _set_state(tenant, name, True)


@campaign_app.command("stop")
def campaign_stop(name: str, tenant: TenantOpt) -> None:
    """Stop a campaign (calls in progress finish)."""
    _set_state(tenant, name, False)


@campaign_app.command("list")
def campaign_list(tenant: TenantOpt) -> None:
    """Campaigns with their state, mode and lists."""
    from switchboard.campaigns import service

    async def go(rt: Runtime) -> list[Any]:
        async with rt.db.read() as s:
            tid = await tenant_id_of(rt, tenant)
            return [
                await service.to_read(session=s, campaign=c)
                for c in await service.list_campaigns(session=s, tenant_id=tid)
            ]

    table = Table("name", "state", "mode", "enabled", "lists")
    for c in run_with_runtime(go):
        table.add_row(c.name, c.state, c.mode, "yes" if c.enabled else "no", ", ".join(c.lists))
    console.print(table)


# ---- Do-Not-Call lists -----------------------------------------------------------------


@dnc_app.command("create")
def dnc_create(
    name: str,
    tenant: TenantOpt,
    type_: Annotated[
        str, typer.Option("--type", help="internal, geographic, area_code or record_exclusion")
    ] = "internal",
    read_only: Annotated[bool, typer.Option(help="Refuse changes through the API")] = False,
) -> None:
    """Create a Do-Not-Call list (applies to every campaign)."""
    from pydantic import ValidationError

    from switchboard.dnc.actions import create_list
    from switchboard.dnc.schemas import DncListCreate

    try:
        data = DncListCreate.model_validate({"name": name, "type": type_, "readOnly": read_only})
    except ValidationError as e:
        err_console.print(f"[red]error:[/red] {e.errors()[0]['msg']}")
        raise typer.Exit(2) from e

    async def go(rt: Runtime) -> None:
        await create_list(rt, tenant_id=await tenant_id_of(rt, tenant), data=data)

    run_with_runtime(go)
    console.print(f"Do-Not-Call list {name} ({type_}) created")


@dnc_app.command("import")
def dnc_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="value[,comment]")],
    list_name: Annotated[str, typer.Option("--list", help="Do-Not-Call list")],
    tenant: TenantOpt,
    replace: Annotated[bool, typer.Option(help="Replace every entry")] = False,
    upsert: Annotated[
        bool, typer.Option("--upsert", help="Entries already listed take the file's comment")
    ] = False,
    delimiter: Annotated[
        str | None, typer.Option(help="Delimiter (default: detected: , ; tab |)")
    ] = None,
) -> None:
    """Load numbers (postal codes, area codes, keys) from a file: one per line, an optional
    comment (on internal lists: the campaign) after the delimiter. Read-only lists accept
    this (the CLI is the operator). Lines not understood are reported by number."""
    from switchboard.dnc.actions import add, replace_all
    from switchboard.dnc.schemas import DncItem

    if replace and upsert:
        err_console.print("[red]error:[/red] --replace and --upsert exclude each other")
        raise typer.Exit(2)
    sep = detect_delimiter(text_or_exit(file), delimiter)
    items: list[DncItem] = []
    lines: list[int] = []
    with _progress() as progress:
        task = progress.add_task(f"reading {file.name}", total=_count_rows(file) + 1)
        with file.open(newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f, delimiter=sep)
            for n, row in enumerate(reader, 1):
                if row and row[0].strip():
                    comment = row[1].strip() if len(row) > 1 and row[1].strip() else None
                    items.append(DncItem(value=row[0], comment=comment))
                    lines.append(reader.line_num)
                if n % 10000 == 0:
                    progress.update(task, completed=n)
            progress.update(task, completed=progress.tasks[0].total)

    async def go(rt: Runtime) -> tuple[int, int, list[tuple[int, str]]]:
        tid = await tenant_id_of(rt, tenant)
        if replace:
            result = await replace_all(rt, tenant_id=tid, name=list_name, items=items, force=True)
        else:
            result = await add(
                rt, tenant_id=tid, name=list_name, items=items, force=True, upsert=upsert
            )
        bad = [
            (lines[int(e["index"])], f"{e.get('key')!r} {e['error']}")
            for e in result.errors
            if "index" in e
        ]
        return result.count, result.updated, bad

    with console.status(f"writing {len(items):,} entries"):
        added, updated, bad = run_with_runtime(go)
    summary = f"{added:,} entries added to {list_name}"
    if upsert:
        summary += f", {updated:,} updated"
    console.print(f"{summary}; {len(bad):,} not understood")
    for line, message in bad[:20]:
        console.print(f"  line {line}: {message}", soft_wrap=True)
    if len(bad) > 20:
        console.print(f"  ... and {len(bad) - 20:,} more")


@dnc_app.command("check")
def dnc_check(number: str, tenant: TenantOpt) -> None:
    """Is a number on a tenant-wide internal or area-code list? (exit status 1 if so)"""
    from switchboard.dnc.service import is_number_blocked

    async def go(rt: Runtime) -> str | None:
        async with rt.db.read() as s:
            hit = await is_number_blocked(
                session=s,
                tenant_id=await tenant_id_of(rt, tenant),
                number=number,
                region=rt.settings.default_phone_region,
            )
            return f"{hit.list_name} ({hit.list_type}: {hit.value})" if hit else None

    found = run_with_runtime(go)
    if found:
        console.print(f"{number}: do not call — {found}")
        raise typer.Exit(1)
    console.print(f"{number}: not on a Do-Not-Call list")
