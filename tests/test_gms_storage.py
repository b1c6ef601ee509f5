"""GMS Storage API: key/values and files with a TTL, updates, deletes, expiry (and the
purge of files), tenant isolation, limits, and every user error."""

from __future__ import annotations

from pathlib import Path

import httpx

from switchboard.core.runtime import Runtime
from switchboard.gms import actions
from switchboard.gms.files import entry_dir
from tests.conftest import TenantInfo
from tests.test_gms_support import GMS, assert_error, expire_entry, host

ST = f"{GMS}/storage"


async def test_store_read_update_delete(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    h = host(tenant)
    r = await client.post(f"{ST}/3600", data={"name": "Ann", "city": "Paris"}, headers=h)
    assert r.status_code == 200, r.text
    eid = r.json()["id"]
    r = await client.get(f"{ST}/{eid}", headers=h)
    assert r.json() == {"name": "Ann", "city": "Paris"}
    r = await client.get(f"{ST}/{eid}/city", headers=h)
    assert r.status_code == 200 and r.text == "Paris"
    # add a file and replace a value (multipart); the TTL starts anew
    r = await client.post(
        f"{ST}/{eid}/60",
        data={"city": "Lyon"},
        files={"doc": ("notes.txt", b"hello file", "text/plain")},
        headers=h,
    )
    assert r.status_code == 200 and r.json() == {"id": eid}
    body = (await client.get(f"{ST}/{eid}", headers=h)).json()
    assert body["city"] == "Lyon" and body["doc"]["filename"] == "notes.txt"
    r = await client.get(f"{ST}/{eid}/doc", headers=h)
    assert r.content == b"hello file" and r.headers["content-type"].startswith("text/plain")
    assert "notes.txt" in r.headers["content-disposition"]
    # a value replaces a file of the same key
    r = await client.post(f"{ST}/{eid}/60", data={"doc": "now text"}, headers=h)
    assert (await client.get(f"{ST}/{eid}/doc", headers=h)).text == "now text"
    # delete one key, then the entry
    assert (await client.delete(f"{ST}/{eid}/name", headers=h)).status_code == 200
    assert_error(await client.get(f"{ST}/{eid}/name", headers=h), 404)
    assert_error(await client.delete(f"{ST}/{eid}/name", headers=h), 404)
    assert (await client.delete(f"{ST}/{eid}", headers=h)).status_code == 200
    assert_error(await client.get(f"{ST}/{eid}", headers=h), 404)
    assert_error(await client.delete(f"{ST}/{eid}", headers=h), 404)
    assert_error(await client.post(f"{ST}/{eid}/60", data={"a": "b"}, headers=h), 404)


async def test_expiry_and_purge(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    h = host(tenant)
    r = await client.post(
        f"{ST}/120", files={"pic": ("a.png", b"\x89PNG....", "image/png")}, headers=h
    )
    assert r.status_code == 200, r.text
    eid = r.json()["id"]
    folder: Path = entry_dir(rt, tenant.tenant_id, eid)
    assert len(list(folder.iterdir())) == 1
    await expire_entry(rt, eid)
    assert_error(await client.get(f"{ST}/{eid}", headers=h), 404)
    assert_error(await client.get(f"{ST}/{eid}/pic", headers=h), 404)
    assert_error(await client.post(f"{ST}/{eid}/60", data={"a": "b"}, headers=h), 404)
    await actions.purge(rt)
    assert not folder.exists()


async def test_storage_errors(
    client: httpx.AsyncClient, tenant: TenantInfo, other_tenant: TenantInfo, rt: Runtime
) -> None:
    h = host(tenant)
    for ttl in ("0", "-1", "abc", "99999999999", "1.5"):
        assert_error(await client.post(f"{ST}/{ttl}", data={"a": "b"}, headers=h), 400)
    assert_error(await client.post(f"{ST}/60", headers=h), 400)  # nothing to store
    r = await client.post(f"{ST}/60", data={"a": "b"}, headers=h)
    eid = r.json()["id"]
    ghost = "00000000-0000-0000-0000-000000000000"
    assert_error(await client.get(f"{ST}/{ghost}", headers=h), 404)
    assert_error(await client.get(f"{ST}/{eid}/missing", headers=h), 404)
    # another tenant sees nothing
    assert_error(await client.get(f"{ST}/{eid}", headers=host(other_tenant)), 404)
    assert_error(await client.delete(f"{ST}/{eid}", headers=host(other_tenant)), 404)
    # too large: 413 before anything is stored
    saved = rt.settings.max_upload_bytes
    try:
        rt.settings.max_upload_bytes = 1000
        r = await client.post(
            f"{ST}/60",
            files={"big": ("big.bin", b"x" * 5000, "application/octet-stream")},
            headers=h,
        )
        body = assert_error(r, 413)
        assert body["exception"] == "PayloadTooLargeException"
        # an update may not grow an entry beyond the limit either
        r = await client.post(f"{ST}/{eid}/60", data={"c": "y" * 900}, headers=h)
        assert r.status_code == 200, r.text
        r = await client.post(
            f"{ST}/{eid}/60",
            files={"d": ("d.bin", b"z" * 500, "application/octet-stream")},
            headers=h,
        )
        assert_error(r, 413)
    finally:
        rt.settings.max_upload_bytes = saved
    assert set((await client.get(f"{ST}/{eid}", headers=h)).json()) == {"a", "c"}


async def test_tenant_quota(client: httpx.AsyncClient, tenant: TenantInfo, rt: Runtime) -> None:
    h = host(tenant)
    cfg = rt.settings
    saved = (cfg.gms_max_entries_per_tenant, cfg.gms_max_bytes_per_tenant)
    try:
        cfg.gms_max_entries_per_tenant, cfg.gms_max_bytes_per_tenant = 2, 100
        r = await client.post(f"{ST}/60", data={"a": "x" * 40}, headers=h)
        assert r.status_code == 200, r.text
        eid = r.json()["id"]
        r = await client.post(f"{ST}/60", data={"b": "y" * 70}, headers=h)
        body = assert_error(r, 507)
        assert body["exception"] == "InsufficientStorageException"
        r = await client.post(f"{ST}/{eid}/60", data={"c": "z" * 70}, headers=h)
        assert_error(r, 507)
        # services store their user data in the same quota
        r = await client.post(f"{GMS}/service/request-interaction", headers=h)
        assert r.status_code == 200, r.text
        r = await client.post(f"{GMS}/service/request-interaction", headers=h)
        assert_error(r, 507)
    finally:
        cfg.gms_max_entries_per_tenant, cfg.gms_max_bytes_per_tenant = saved
