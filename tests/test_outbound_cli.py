"""The outbound CLI (``switchboard lists|campaign|dnc``), run as a subprocess."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from switchboard.core.settings import Settings
from tests.conftest import TenantInfo

API = "/configapi/v2"


async def cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_DATA_DIR=str(settings.data_dir),
        SWITCHBOARD_LOG_LEVEL="WARNING",
        COLUMNS="200",
    )
    env.pop("SWITCHBOARD_REDIS_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


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
