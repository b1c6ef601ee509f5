"""What every ``switchboard`` sub-command shares: the consoles, a runtime per command,
and tenant lookup. Kept apart from ``switchboard.cli`` so that command modules
(``lists/cli.py``, ``api/admin/cli.py``) import it without an import cycle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from switchboard.core.errors import DomainError
from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def run_with_runtime(fn: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``fn`` against a runtime of its own; domain errors exit with status 1."""
    from switchboard.core.registry import import_models

    import_models()

    async def main() -> T:
        # not started: publishing needs no subscription (after_commit wake-ups of the
        # command's changes still reach every server process through Redis)
        rt = Runtime.create(settings or get_settings())
        try:
            return await fn(rt)
        finally:
            await rt.stop()

    try:
        return asyncio.run(main())
    except DomainError as e:
        err_console.print(f"[red]error:[/red] {e.message}", soft_wrap=True)
        raise typer.Exit(1) from e


async def tenant_id_of(rt: Runtime, domain: str) -> str:
    from switchboard.tenants.service import get_by_domain_or_raise

    async with rt.db.read() as s:
        return (await get_by_domain_or_raise(session=s, domain=domain)).id
