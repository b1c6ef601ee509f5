"""Calling-list and Do-Not-Call imports from the command line: the delimiter is detected,
phone numbers are checked with phonenumbers, bad rows are reported by their line, binary
files are refused with one clear line, and imports can upsert."""

from __future__ import annotations

from pathlib import Path

import httpx

from switchboard.core.settings import Settings
from tests.conftest import TenantInfo
from tests.test_outbound_cli import cli

API = "/configapi/v2"


async def test_list_import_detects_checks_reports_and_upserts(
    migrated: Settings,
    tmp_path: Path,
    client: httpx.AsyncClient,
    tenant: TenantInfo,
    admin_headers: dict[str, str],
) -> None:
    t = tenant.domain
    f = tmp_path / "people.csv"
    f.write_text(
        "ID;Name;Phone\n"
        "1;Ann;+1 415 555 0101\n"
        "2;Bob;not-a-number\n"
        '3;"Multi\nline";4155550103\n'
        "4;Dan;4155550104;extra\n"
        "5;Eve;(415) 555-0105\n"
    )
    code, out, err = await cli(migrated, "lists", "import", str(f), "--tenant", t)
    assert code == 0, err
    assert "3 records added to people.csv; 2 rejected" in out
    assert "line 3: Phone: 'not-a-number' is not a phone number" in out
    assert "line 6: 1 more values than columns" in out  # line numbers count the newline
    r = await client.get(f"{API}/callinglist/people.csv", headers=admin_headers)
    assert r.json()["fields"] == ["ID", "Name", "Phone"] and r.json()["size"] == 3

    # again, without --upsert: known keys are rejected as duplicates
    f2 = tmp_path / "update.csv"
    f2.write_text("ID\tName\tPhone\n1\tAnnie\t4155550111\n6\tFay\t4155550106\n")
    code, out, err = await cli(
        migrated, "lists", "import", str(f2), "--tenant", t, "--list", "people.csv"
    )
    assert code == 0, err
    assert "1 records added to people.csv; 1 rejected" in out
    assert "line 2: Duplicate key: 1" in out
    f3 = tmp_path / "update2.csv"
    f3.write_text("ID|Name|Phone\n1|Annie|4155550111\n7|Gus|4155550107\n")
    code, out, err = await cli(
        migrated, "lists", "import", str(f3), "--tenant", t, "--list", "people.csv", "--upsert"
    )
    assert code == 0, err
    assert "1 records added to people.csv, 1 updated; 0 rejected" in out
    r = await client.get(f"{API}/callinglist/people.csv", headers=admin_headers)
    assert r.json()["size"] == 5


async def test_imports_refuse_binary_files(
    migrated: Settings, tmp_path: Path, tenant: TenantInfo
) -> None:
    t = tenant.domain
    xlsx = tmp_path / "book.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    code, _out, err = await cli(migrated, "lists", "import", str(xlsx), "--tenant", t)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "binary file" in lines[0], err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("ID,Name,Phone\n1,Jos\xe9,4155550100\n".encode("latin-1") * 3)
    code, _, err = await cli(migrated, "lists", "import", str(latin), "--tenant", t)
    assert code == 2 and "not UTF-8" in err
    code, _, err = await cli(
        migrated, "dnc", "import", str(xlsx), "--list", "DNC_List", "--tenant", t
    )
    assert code == 2 and "binary file" in err


async def test_dnc_import_detects_reports_and_upserts(
    migrated: Settings, tmp_path: Path, tenant: TenantInfo
) -> None:
    t = tenant.domain
    f = tmp_path / "dnc.tsv"
    f.write_text("4155550200\tcampaign-a\n4155550201\n\n?!\n4155550202\tcampaign-b\n")
    code, out, err = await cli(
        migrated, "dnc", "import", str(f), "--list", "DNC_List", "--tenant", t
    )
    assert code == 0, err
    assert "3 entries added to DNC_List; 1 not understood" in out
    assert "line 4: '?!' not understood" in out
    f2 = tmp_path / "again.csv"
    f2.write_text("4155550200;Outbound Campaign\n4155550203;x\n")
    code, out, err = await cli(
        migrated, "dnc", "import", str(f2), "--list", "DNC_List", "--tenant", t, "--upsert"
    )
    assert code == 0, err
    assert "1 entries added to DNC_List, 1 updated; 0 not understood" in out
    code, _, err = await cli(
        migrated, "dnc", "import", str(f2), "--list", "DNC_List", "--tenant", t,
        "--upsert", "--replace",
    )  # fmt: skip
    assert code == 2 and "exclude" in err
