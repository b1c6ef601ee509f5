"""Files: upload (streamed, 25 MB limit, 1000 per tenant), events, the download paths."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from sqlalchemy import func, select

from switchboard.chats import files
from switchboard.chats.models import ChatFile
from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo
from tests.test_messaging_support import V2, Customer, auth, connect_agent, error_of


def tenant_dir(rt: Runtime, tenant: TenantInfo) -> Path:
    return Path(rt.settings.data_dir) / files.FOLDER / tenant.tenant_id


def stored_names(rt: Runtime, tenant: TenantInfo) -> set[str]:
    folder = tenant_dir(rt, tenant)
    return set(os.listdir(folder)) if folder.exists() else set()


async def file_count(rt: Runtime, tenant: TenantInfo) -> int:
    async with rt.db.read() as s:
        return int(
            (
                await s.execute(select(func.count()).where(ChatFile.tenant_id == tenant.tenant_id))
            ).scalar_one()
        )


async def upload(
    c: Customer, content: bytes, name: str = "photo.png", ctype: str = "image/png"
) -> httpx.Response:
    return await c.http.post(
        f"{V2}/files",
        params=c.params(),
        headers=c.headers,
        files={"file": (name, content, ctype)},
    )


async def test_upload_send_and_download(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    r = await upload(c, b"x")
    assert error_of(r) == (404, "5005")  # no chat to attach it to
    await c.start()
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    r = await upload(c, b"\x89PNG picture", "../../etc/pic.png")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"file_id", "file_name"} and body["file_name"] == "pic.png"
    file_id = body["file_id"]
    r = await c.send({"event": "chat_session_file", "file_id": file_id, "file_type": "image"})
    assert r.status_code == 200, r.text
    history = (await c.get(f"/chats/{c.chat_id}/history")).json()["events"]
    sent = next(e for e in history if e["event"] == "chat_session_file")
    assert sent["file_id"] == file_id and sent["file_name"] == "pic.png"
    assert sent["file_type"] == "image" and sent["party_id"] == c.chat_id

    # the three download paths; the documented ones send no tenantUrl
    bare = {"Authorization": auth(c.client_id)}
    for url, headers, params in (
        (f"{V2}/chats/{c.chat_id}/files/{file_id}", bare, {}),
        (f"{V2}/chats/{c.chat_id}/files/{file_id}", c.headers, c.params()),
        (f"/clientweb/file/{file_id}", bare, {}),
    ):
        r = await client.get(url, headers=headers, params=params)
        assert r.status_code == 200, (url, r.text)
        assert r.content == b"\x89PNG picture" and r.headers["content-type"] == "image/png"

    # an agent's file reaches the customer's poll with its name and type
    r = await client.post(
        f"/agentapi/v1/interactions/{seat.interaction_id}/files",
        files={"file": ("manual.pdf", b"%PDF-1.4", "application/pdf")},
        headers=seat.headers,
    )
    assert r.status_code == 200, r.text
    polled = await c.poll()
    got = polled[-1]
    assert got["event"] == "chat_session_file"
    assert got["file_name"] == "manual.pdf" and got["file_type"] == "attachment"
    assert got["party_id"] == seat.party_id and got["msg_id"]
    r = await client.get(f"/clientweb/file/{got['file_id']}", headers=bare)
    assert r.status_code == 200 and r.content == b"%PDF-1.4"
    assert r.headers["content-disposition"].startswith("attachment")

    # errors
    r = await client.get(f"{V2}/chats/{c.chat_id}/files/unknown", headers=bare)
    assert error_of(r) == (404, "5502")
    r = await client.get("/clientweb/file/unknown", headers=bare)
    assert error_of(r) == (404, "5502")
    stranger = {"Authorization": auth("stranger")}
    r = await client.get(f"/clientweb/file/{file_id}", headers=stranger)
    assert error_of(r) == (404, "5502")
    other = Customer(client, tenant)
    await other.start()
    r = await client.get(
        f"{V2}/chats/{other.chat_id}/files/{file_id}",
        headers={"Authorization": auth(other.client_id)},
    )
    assert error_of(r) == (404, "5502")
    # a file of another chat cannot be sent in this one
    r = await other.send({"event": "chat_session_file", "file_id": file_id})
    assert error_of(r) == (404, "5502")


async def test_bad_uploads(client: httpx.AsyncClient, tenant: TenantInfo) -> None:
    c = Customer(client, tenant)
    await c.start()
    r = await c.post("/files", {"file": "x"})
    assert error_of(r) == (400, "5558")
    r = await client.post(
        f"{V2}/files",
        params=c.params(),
        headers=c.headers,
        data={"other": "field"},
        files={"nofile": (None, b"plain")},
    )
    assert error_of(r) == (400, "5558")


async def test_upload_limit_is_enforced_while_streaming(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    limit = rt.settings.max_upload_bytes
    assert limit == 25 * 1024 * 1024
    before_files = stored_names(rt, tenant)
    before_rows = await file_count(rt, tenant)
    r = await upload(c, b"\0" * (limit + 1), "big.bin", "application/octet-stream")
    assert error_of(r) == (413, "5501")
    assert stored_names(rt, tenant) == before_files  # not even a partial file
    assert await file_count(rt, tenant) == before_rows

    rt.settings.max_upload_bytes = 1000
    try:
        assert (await upload(c, b"a" * 1000, "exact.bin")).status_code == 200
        assert error_of(await upload(c, b"a" * 1001, "over.bin")) == (413, "5501")
    finally:
        rt.settings.max_upload_bytes = limit
    assert await file_count(rt, tenant) == before_rows + 1


async def test_oldest_files_are_replaced(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    keep = rt.settings.max_files_per_tenant
    assert keep == 1000
    rt.settings.max_files_per_tenant = 3
    try:
        ids = []
        for i in range(5):
            r = await upload(c, f"file {i}".encode(), f"f{i}.txt", "text/plain")
            ids.append(r.json()["file_id"])
    finally:
        rt.settings.max_files_per_tenant = keep
    assert await file_count(rt, tenant) == 3
    assert stored_names(rt, tenant) == set(ids[2:])
    r = await client.get(
        f"{V2}/chats/{c.chat_id}/files/{ids[0]}", headers={"Authorization": auth(c.client_id)}
    )
    assert error_of(r) == (404, "5502")
    r = await client.get(
        f"{V2}/chats/{c.chat_id}/files/{ids[4]}", headers={"Authorization": auth(c.client_id)}
    )
    assert r.status_code == 200 and r.content == b"file 4"
