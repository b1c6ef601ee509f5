"""Real servers: polls across processes, reconnecting clients, dead connections, restarts.

On PostgreSQL + Redis a poll held in one server process is woken by an event written by
another process. SQLite serves one process (its bus is in-process): there, customer
and agent talk to the same server. Either way each event arrives exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from switchboard.chats.models import ChatEvent, ChatSession
from switchboard.core.runtime import Runtime
from tests.conftest import LiveServer, TenantInfo
from tests.test_messaging_support import V2, Customer, connect_agent


@pytest.fixture(scope="module")
def servers(live_server_factory: Callable[..., LiveServer]) -> list[LiveServer]:
    return [live_server_factory()]


async def poll_retry(c: Customer, seconds: float = 10.0) -> list[dict[str, Any]]:
    """Poll like the SDKs: retry after 5509 (another poll still held)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        r = await c.get(f"/chats/{c.chat_id}/events")
        if r.status_code == 200:
            events: list[dict[str, Any]] = r.json()["events"]
            return events
        assert r.status_code == 400 and r.json()["error_code"] == "5509", r.text
        assert loop.time() < deadline, "the session stayed busy"
        await asyncio.sleep(0.2)


def messages(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["msg"]) for e in events if e["event"] == "chat_session_message"]


@pytest.mark.skipif(
    os.environ.get("SWITCHBOARD_TEST_BACKEND") != "postgres", reason="needs Redis (PostgreSQL run)"
)
async def test_poll_woken_by_another_process(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, servers: list[LiveServer]
) -> None:
    """The live server holds the poll; this test process (its own app, through HTTP)
    is the other process."""
    a = servers[0]
    hb = client
    hold = rt.settings.long_poll_seconds
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as ha:
        ca = Customer(ha, tenant)
        await ca.start()
        await ca.poll()
        # 1. an agent-side event written by this test process
        started = loop.time()
        held = asyncio.create_task(ca.poll())
        await asyncio.sleep(0.3)
        seat = await connect_agent(hb, rt, tenant, ca.chat_id)
        await seat.say("hello from elsewhere")
        events = await held
        elapsed = loop.time() - started
        if len(messages(events)) == 0:  # the wake-up came between the two writes
            events += await ca.poll()
        assert messages(events) == ["hello from elsewhere"]
        assert elapsed < hold, "Redis should wake the held poll at once"

        # 2. the customer ends the chat through another server while server A holds a poll
        cb = Customer(hb, tenant, ca.client_id)
        cb.chat_id = ca.chat_id
        started = loop.time()
        held = asyncio.create_task(ca.poll())
        await asyncio.sleep(0.3)
        # a cursor-tracking sender leaves every server event to the poll
        r = await cb.post(
            f"/chats/{cb.chat_id}/events",
            {"events": [{"event": "chat_session_end"}]},
            params={"cursor": "0"},
        )
        assert r.status_code == 200 and r.json() == {"events": []}
        events = await held
        assert loop.time() - started < hold
        assert [e["event"] for e in events] == ["chat_session_ended"]
        r = await ca.get(f"/chats/{ca.chat_id}/events")
        assert r.status_code == 404 and r.json()["error_code"] == "5005"


async def test_reconnecting_poller_gets_everything_once(
    rt: Runtime, tenant: TenantInfo, servers: list[LiveServer]
) -> None:
    a = servers[0]
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as http:
        c = Customer(http, tenant)
        await c.start()
        seat = await connect_agent(http, rt, tenant, c.chat_id)
        await c.poll()  # the status and party events
        expected: list[str] = []
        received: list[str] = []
        for i in range(3):
            # the client gives up on a held poll (network change, app paused...)
            with pytest.raises(httpx.ReadTimeout):
                await c.get(f"/chats/{c.chat_id}/events", timeout=httpx.Timeout(10, read=0.3))
            await asyncio.sleep(0.2)
            expected.append(f"while away {i}")
            await seat.say(expected[-1])
            received += messages(await poll_retry(c))
            # a message while a poll is held
            held = asyncio.create_task(poll_retry(c))
            await asyncio.sleep(0.2)
            expected.append(f"while polling {i}")
            await seat.say(expected[-1])
            received += messages(await held)
        received += messages(await poll_retry(c))
        assert received == expected


async def test_dead_connection_is_preempted(
    rt: Runtime, tenant: TenantInfo, servers: list[LiveServer]
) -> None:
    """A poll whose connection died silently: the next poll gets 5509, the one after
    gets the events, and the dead request (if it is ever read) carries none."""
    a = servers[0]
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as http:
        c = Customer(http, tenant)
        await c.start()
        await c.poll()
        seat = await connect_agent(http, rt, tenant, c.chat_id)
        await c.poll()
        host = urlsplit(a.base_url)
        reader, writer = await asyncio.open_connection(host.hostname, host.port)
        request = (
            f"GET {V2}/chats/{c.chat_id}/events?tenantUrl={tenant.domain} HTTP/1.1\r\n"
            f"Host: {host.netloc}\r\nAuthorization: {c.headers['Authorization']}\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        await asyncio.sleep(0.3)  # held by the server; the client never reads it
        r = await c.get(f"/chats/{c.chat_id}/events")
        assert r.status_code == 400 and r.json()["error_code"] == "5509"
        await seat.say("are you there?")
        assert messages(await poll_retry(c)) == ["are you there?"]
        raw = await asyncio.wait_for(reader.read(65536), 5)
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert json.loads(body) == {"events": []}


async def test_restart_in_the_middle_of_a_chat(
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    servers: list[LiveServer],
    live_server_factory: Callable[..., LiveServer],
) -> None:
    a = servers[0]
    expected: list[str] = []
    received: list[str] = []
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as http:
        c = Customer(http, tenant)
        await c.start()
        seat = await connect_agent(http, rt, tenant, c.chat_id)
        expected.append("before")
        await seat.say("before")
        received += messages(await c.poll())
        held = asyncio.create_task(c.poll())
        await asyncio.sleep(0.3)
        a.process.send_signal(signal.SIGTERM)  # graceful: the held poll is answered
        try:
            received += messages(await held)
        except httpx.HTTPError:
            pass  # the connection went down with the server: nothing was claimed
        await asyncio.to_thread(a.process.wait, 10)
    # while the server is down the agent writes through another one (this process)
    seat.http = client
    for text in ("while down 1", "while down 2"):
        expected.append(text)
        await seat.say(text)
    restarted = live_server_factory()
    servers[0] = restarted
    async with httpx.AsyncClient(base_url=restarted.base_url, timeout=10) as http:
        c.http = http
        seat.http = http
        received += messages(await poll_retry(c))
        expected.append("after")
        await seat.say("after")
        received += messages(await poll_retry(c))
        assert received == expected
        history = (await c.get(f"/chats/{c.chat_id}/history")).json()["events"]
        assert messages(history) == expected


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")
async def test_demo_chat_page_in_a_browser(
    rt: Runtime, tenant: TenantInfo, servers: list[LiveServer]
) -> None:
    from playwright.async_api import async_playwright

    base = servers[0].base_url
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
            await page.goto(f"{base}/chat/?tenantUrl={tenant.domain}")
            await page.wait_for_selector("#prechat", state="visible")
            await page.fill("input[name=FIRST_NAME]", "Paula")
            await page.fill("textarea[name=message]", "Hello from the page")
            await page.click("#prechat button[type=submit]")
            await page.wait_for_selector("#log li.me", timeout=10000)
            async with rt.db.read() as s:
                chat = (
                    await s.execute(
                        select(ChatSession).where(
                            ChatSession.tenant_id == tenant.tenant_id,
                            ChatSession.client_key.like("cookie:%"),
                        )
                    )
                ).scalar_one()
            assert chat.parameters == {"FIRST_NAME": "Paula"}
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                seat = await connect_agent(http, rt, tenant, chat.id)
                await seat.say("Hi Paula, Alice here")
            await page.wait_for_selector("#log li.them:has-text('Alice here')", timeout=10000)
            await page.fill("#text", "Thanks!")
            await page.click("#compose button[type=submit]")

            async def customer_said(text: str) -> bool:
                async with rt.db.read() as s:
                    rows = await s.execute(
                        select(ChatEvent.payload).where(
                            ChatEvent.chat_id == chat.id, ChatEvent.direction == "client"
                        )
                    )
                    return any(p.get("msg") == text for (p,) in rows)

            for _ in range(50):
                if await customer_said("Thanks!"):
                    break
                await asyncio.sleep(0.1)
            assert await customer_said("Thanks!")
            # a reload resumes the chat from its history (cookie identity)
            await page.reload()
            await page.wait_for_selector("#log li.them:has-text('Alice here')", timeout=10000)
            assert "Hello from the page" in (await page.text_content("#log") or "")
            await page.click("#end")
            await page.wait_for_selector("#ended", state="visible")
        finally:
            await browser.close()
    async with rt.db.read() as s:
        ended = await s.get(ChatSession, chat.id)
        assert ended is not None and ended.state == "completed"
