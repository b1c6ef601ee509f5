"""The outbound CLI (``switchboard lists|campaign|dnc``)."""

from __future__ import annotations

import asyncio
import threading
import traceback
from pathlib import Path

import httpx

from switchboard.core.settings import Settings
from tests.conftest import TenantInfo

API = "/configapi/v2"


async def cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    """``switchboard <args>`` with the test database: the command line's own entry point
    (its parsing, exit codes and output), run in this process on a thread of its own,
    so that a test's dozens of commands do not each pay an interpreter's start-up. The
    cross-process cases (a CLI change woken on the servers' bus) use a real subprocess
    (``tests.test_cli_admin.cli_on_bus``)."""
    env = {
        "SWITCHBOARD_DATABASE_URL": settings.database_url,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
        "SWITCHBOARD_REDIS_URL": None,
    }
    return await asyncio.to_thread(_invoke, env, list(args))


_CLI_LOCK = threading.Lock()


def _invoke(env: dict[str, str | None], args: list[str]) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from switchboard import cli_common
    from switchboard.cli import app
    from switchboard.core.settings import get_settings

    with _CLI_LOCK:
        cli_common.console.width = cli_common.err_console.width = 200
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, args, env=env)
        finally:
            get_settings.cache_clear()
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        err += "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.stdout, err


async def test_import_bind_start_stop(
    migrated: Settings,
    tmp_path: Path,
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
) -> None:
    t = tenant.domain
    csv_file = tmp_path / "import.csv"
    rows = ["ID,firstName,lastName,Phone,Status"]
    rows += [f"{i},First{i},Last{i},1415555{i:04d},Gold" for i in range(250)]
    rows += ["7,Dup,Licate,14155550007,Gold", ",No,Key,14155550000,Gold"]
    csv_file.write_text("\n".join(rows) + "\n")

    code, out, err = await cli(migrated, "lists", "import", str(csv_file), "--tenant", t)
    assert code == 0, err
    assert "250 records added to import.csv; 2 rejected" in out
    assert "line 252: Duplicate key: 7" in out  # reported by their lines in the file
    assert "line 253: Key field ID is required" in out

    r = await client.get(f"{API}/callinglist/import.csv", headers=admin_headers)
    assert r.json()["keys"] == ["ID"]
    assert r.json()["phoneFields"] == ["Phone"]
    assert r.json()["size"] == 250
    r = await client.post(
        f"{API}/callinglist/getAll/import.csv/Outbound Campaign",
        json={"fromIndex": 249, "maxSize": 5},
        headers=admin_headers,
    )
    assert [i["entry"]["ID"] for i in r.json()] == ["249"]

    code, out, err = await cli(
        migrated, "campaign", "create", "CLI Campaign", "--tenant", t, "--list", "import.csv"
    )
    assert code == 0, err
    code, out, err = await cli(migrated, "lists", "bind", "list.csv", "CLI Campaign", "--tenant", t)
    assert code == 0, err
    code, out, err = await cli(migrated, "campaign", "start", "CLI Campaign", "--tenant", t)
    assert code == 0, err
    assert "RUNNING" in out
    r = await client.get(f"{API}/campaign/getAll/", headers=admin_headers)
    assert {"name": "CLI Campaign", "state": "RUNNING", "lists": ["import.csv", "list.csv"]} in (
        r.json()
    )
    code, out, _ = await cli(migrated, "campaign", "stop", "CLI Campaign", "--tenant", t)
    assert "STOPPED" in out

    bad = tmp_path / "nophone.csv"
    bad.write_text("ID,Name\n1,x\n")
    code, _, err = await cli(migrated, "lists", "import", str(bad), "--tenant", t)
    assert code == 2
    assert "phone" in err


async def test_dnc_commands(migrated: Settings, tmp_path: Path, tenant: TenantInfo) -> None:
    t = tenant.domain
    numbers = tmp_path / "dnc.csv"
    numbers.write_text("4155550100,asked\n(415) 555-0101\n\nnonsense\n")
    code, out, err = await cli(
        migrated, "dnc", "import", str(numbers), "--list", "DNC_List", "--tenant", t
    )
    assert code == 0, err
    assert "2 entries added to DNC_List; 1 not understood" in out
    assert "line 4: 'nonsense' not understood" in out
    code, out, _ = await cli(migrated, "dnc", "check", "+1 415 555 0101", "--tenant", t)
    assert code == 1
    assert "DNC_List" in out
    code, _, err = await cli(migrated, "dnc", "create", "X", "--type", "federal", "--tenant", t)
    assert code == 2
