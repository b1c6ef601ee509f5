"""The agent's WebSocket channel on a real server: offers and customer events arrive
live, and a desktop that reconnects with its last cursor misses nothing and sees
nothing twice. And the agent desktop in headless Chromium: log in, go ready, accept a
chat, reply, see the customer's answer, end with a disposition."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from switchboard.core.runtime import Runtime
from switchboard.interactions import service as interactions
from tests.conftest import OFFER_WAIT_MS, PASSWORD, LiveServer, TenantInfo
from tests.test_agent_support import (
    API,
    MSG,
    agent_login,
    auth,
    configure,
    customer_log,
    customer_sends,
    mobile_headers,
    new_chat,
    wait_for,
)


def ws_url(server: LiveServer, token: str, cursor: str | None = None) -> str:
    url = server.base_url.replace("http://", "ws://") + f"{API}/ws?access_token={token}"
    return url + (f"&cursor={cursor}" if cursor else "")


async def recv_until(
    ws: ClientConnection, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            seen.append(frame)
            if pred(frame):
                return frame, seen


def chat_msg(frame: dict[str, Any]) -> str | None:
    if frame.get("type") == "chat_event" and frame["event"].get("event") == "chat_session_message":
        return str(frame["event"]["msg"])
    return None


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """One live server (one worker process) for the tests of this module."""
    return live_server_factory(long_poll_seconds=1.0)


async def test_websocket_offer_events_and_resume(
    server: LiveServer, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=0)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        token = await agent_login(http, tenant, "agent1", ready=True)
        cursor = (await http.get(API + "/me", headers=auth(token))).json()["cursor"]
        async with connect(ws_url(server, token, cursor)) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello" and hello["agent"]["state"] == "ready"
            chat_id = await new_chat(rt, http, tenant, "rt-cust")
            offer, _ = await recv_until(ws, lambda f: f["type"] == "offer")
            assert offer["chat_id"] == chat_id and offer["cursor"]
            iid = offer["interaction_id"]
            r = await http.post(f"{API}/interactions/{iid}/accept", headers=auth(token))
            assert r.status_code == 200
            await recv_until(
                ws,
                lambda f: (
                    f["type"] == "chat_event"
                    and f["event"]["event"] == "chat_session_status"
                    and f["event"]["state"] == "connected"
                ),
            )
            await customer_sends(
                rt,
                tenant,
                chat_id,
                "rt-cust",
                {"event": "chat_session_message", "msg": "one"},
                http=http,
            )
            frame, _ = await recv_until(ws, lambda f: chat_msg(f) == "one")
            cursor = frame["cursor"]
        # offline: the customer goes on, the agent's state changes
        await customer_sends(
            rt,
            tenant,
            chat_id,
            "rt-cust",
            {"event": "chat_session_message", "msg": "two"},
            http=http,
        )
        await customer_sends(
            rt,
            tenant,
            chat_id,
            "rt-cust",
            {"event": "chat_session_message", "msg": "three"},
            http=http,
        )
        r = await http.put(
            API + "/state", json={"state": "not_ready", "reason": "Break"}, headers=auth(token)
        )
        assert r.status_code == 200
        async with connect(ws_url(server, token, cursor)) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            _, seen = await recv_until(ws, lambda f: f["type"] == "state")
            await customer_sends(
                rt,
                tenant,
                chat_id,
                "rt-cust",
                {"event": "chat_session_message", "msg": "four"},
                http=http,
            )
            _, more = await recv_until(ws, lambda f: chat_msg(f) == "four")
            msgs = [m for m in (chat_msg(f) for f in seen + more) if m]
            assert msgs == ["two", "three", "four"]  # none lost, none repeated
            await ws.send(json.dumps({"type": "ping", "ref": 7}))
            pong, _ = await recv_until(ws, lambda f: f["type"] == "pong")
            assert pong["ref"] == 7
            # the customer leaves: the agent hears it and is released
            await customer_sends(
                rt, tenant, chat_id, "rt-cust", {"event": "chat_session_end"}, http=http
            )
            ended, _ = await recv_until(ws, lambda f: f["type"] == "interaction_ended")
            assert ended["interaction_id"] == iid


async def test_websocket_rejects_bad_token_and_cursor(
    server: LiveServer, tenant: TenantInfo
) -> None:
    async with connect(ws_url(server, "nope")) as ws:
        err = json.loads(await ws.recv())
        assert err["type"] == "error" and err["error"] == "unauthorized"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        token = await agent_login(http, tenant, "agent2")
        r = await http.get(API + "/events", params={"cursor": "garbage"}, headers=auth(token))
        assert r.status_code == 400
    async with connect(ws_url(server, token, "garbage")) as ws:
        err = json.loads(await ws.recv())
        assert err["type"] == "error"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


# ---- the agent desktop in headless Chromium ---------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")
async def test_desktop_login_ready_accept_reply(
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
) -> None:
    from playwright.async_api import async_playwright

    await configure(rt, tenant, acw_seconds=60)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            await page.goto(server.base_url + "/agent/")
            await page.fill("#tenant", tenant.domain)
            await page.fill("#login", "agent1")
            await page.fill("#password", PASSWORD)
            await page.click("#login-btn")
            await page.wait_for_selector("#state-select", state="visible")
            await page.wait_for_selector("#conn.on")
            assert "Alice" in (await page.text_content("#who") or "")
            await page.select_option("#state-select", "ready")
            await page.wait_for_selector("#state.ready")

            # the customer talks to the same server (SQLite serves one process)
            http = httpx.AsyncClient(base_url=server.base_url, timeout=20)
            chat_id = await new_chat(
                rt,
                http,
                tenant,
                "desk-cust",
                parameters={"FIRST_NAME": "Dora", "LAST_NAME": "Desk"},
            )
            await page.wait_for_selector("#offers li button.accept", timeout=OFFER_WAIT_MS)
            assert "Dora Desk" in (await page.text_content("#offers") or "")
            await page.click("#offers li button.accept")
            await page.wait_for_selector("#tabs li.active")
            await page.wait_for_selector("#state.busy")
            await page.fill("#msg-input", "Hello Dora, how can I help?")
            await page.click("#send-btn")

            async def replied() -> bool:
                log = await customer_log(rt, chat_id)
                return any(e.get("msg") == "Hello Dora, how can I help?" for e in log)

            await wait_for(replied, timeout=10)
            await customer_sends(
                rt,
                tenant,
                chat_id,
                "desk-cust",
                {"event": "chat_session_message", "msg": "My router is broken"},
                http=http,
            )
            await page.wait_for_selector("#log li.msg >> text=My router is broken")

            async def read_receipt() -> bool:
                log = await customer_log(rt, chat_id)
                return any(e["event"] == "chat_session_message_read" for e in log)

            await wait_for(read_receipt, timeout=10)
            await page.select_option("#disposition", "Resolved")
            await page.click("#end-btn")
            await page.wait_for_selector("#complete-btn", state="visible")
            await page.wait_for_selector("#state.after_call_work")
            await page.click("#complete-btn")
            await page.wait_for_selector("#state.ready")
            log = await customer_log(rt, chat_id)
            assert log[-1]["event"] == "chat_session_ended"
        finally:
            await browser.close()
            if "http" in locals():
                await http.aclose()


# ---- a whole chat: the customer on the Messaging API, agents on the agent API ----------


class Customer:
    """A customer's app on the Mobile/Web Messaging API v2."""

    def __init__(self, http: httpx.AsyncClient, tenant: TenantInfo, client_id: str) -> None:
        self.http = http
        self.params = {"tenantUrl": tenant.domain}
        self.headers = mobile_headers(client_id)
        self.chat_id = ""
        self.events: list[dict[str, Any]] = []

    async def start(self) -> str:
        r = await self.http.post(
            MSG + "/chats",
            params=self.params,
            json={"parameters": {"FIRST_NAME": "Cleo", "LAST_NAME": "Client"}},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text
        self.chat_id = str(r.json()["chat_id"])
        return self.chat_id

    async def send(self, *events: dict[str, Any]) -> None:
        r = await self.http.post(
            f"{MSG}/chats/{self.chat_id}/events",
            params=self.params,
            json={"events": list(events)},
            headers=self.headers,
        )
        assert r.status_code == 200, r.text

    async def until(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for e in self.events:
                    if pred(e):
                        return e
                r = await self.http.get(
                    f"{MSG}/chats/{self.chat_id}/events", params=self.params, headers=self.headers
                )
                assert r.status_code == 200, r.text
                self.events.extend(r.json()["events"])


def is_event(name: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    def pred(e: dict[str, Any]) -> bool:
        if e.get("type") == "chat_event":
            e = e["event"]
        return e.get("event") == name and all(e.get(k) == v for k, v in fields.items())

    return pred


async def test_full_chat_messaging_customer_and_agents(
    server: LiveServer, tenant: TenantInfo, rt: Runtime
) -> None:
    await configure(rt, tenant, acw_seconds=60)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        t1 = await agent_login(http, tenant, "agent1", ready=True)
        c1 = (await http.get(API + "/me", headers=auth(t1))).json()["cursor"]
        customer = Customer(http, tenant, "full-chat-1")
        async with connect(ws_url(server, t1, c1)) as ws1:
            await recv_until(ws1, lambda f: f["type"] == "hello")
            chat_id = await customer.start()
            await customer.until(is_event("chat_session_status", state="queued"))
            offer, _ = await recv_until(ws1, lambda f: f["type"] == "offer")
            assert offer["chat_id"] == chat_id
            assert offer["customer"]["parameters"]["FIRST_NAME"] == "Cleo"
            iid = offer["interaction_id"]
            r = await http.post(f"{API}/interactions/{iid}/accept", headers=auth(t1))
            assert r.status_code == 200, r.text
            p1 = r.json()["party_id"]
            # connecting, then party_joined (id, name, type), then connected
            await customer.until(is_event("chat_session_status", state="connected"))
            names = [e["event"] for e in customer.events]
            joined = next(e for e in customer.events if e["event"] == "chat_session_party_joined")
            assert joined["party_id"] == p1 and joined["type"] == "internal"
            assert (joined["first_name"], joined["last_name"]) == ("Alice", "Agent")
            assert joined["display_name"] and isinstance(joined["timestamp"], str)
            connecting = next(
                i
                for i, e in enumerate(customer.events)
                if is_event("chat_session_status", state="connecting")(e)
            )
            connected = next(
                i
                for i, e in enumerate(customer.events)
                if is_event("chat_session_status", state="connected")(e)
            )
            assert connecting < names.index("chat_session_party_joined") < connected
            # customer -> agent, with the agent's receipts back
            await customer.send({"event": "chat_session_message", "msg": "Hi, my bill is wrong"})
            frame, _ = await recv_until(
                ws1, is_event("chat_session_message", msg="Hi, my bill is wrong")
            )
            cmsg = frame["event"]["msg_id"]
            assert frame["event"]["party_id"] == chat_id
            for kind in ("delivered", "read"):
                r = await http.post(
                    f"{API}/interactions/{iid}/receipts",
                    json={"type": kind, "ref_msg_id": cmsg},
                    headers=auth(t1),
                )
                assert r.status_code == 200
            read = await customer.until(is_event("chat_session_message_read", ref_msg_id=cmsg))
            assert read["party_id"] == p1
            # agent -> customer, with the customer's receipts back
            r = await http.post(
                f"{API}/interactions/{iid}/messages", json={"msg": "Let me check"}, headers=auth(t1)
            )
            assert r.status_code == 200
            amsg = await customer.until(is_event("chat_session_message", msg="Let me check"))
            assert amsg["party_id"] == p1
            await customer.send(
                {"event": "chat_session_message_delivered", "ref_msg_id": amsg["msg_id"]},
                {"event": "chat_session_message_read", "ref_msg_id": amsg["msg_id"]},
            )
            await recv_until(ws1, is_event("chat_session_message_read", ref_msg_id=amsg["msg_id"]))
            # transfer to agent2
            t2 = await agent_login(http, tenant, "agent2", ready=True)
            c2 = (await http.get(API + "/me", headers=auth(t2))).json()["cursor"]
            async with connect(ws_url(server, t2, c2)) as ws2:
                r = await http.post(
                    f"{API}/interactions/{iid}/transfer", json={"agent": "agent2"}, headers=auth(t1)
                )
                assert r.status_code == 200, r.text
                ended, _ = await recv_until(ws1, lambda f: f["type"] == "interaction_ended")
                assert ended["reason"] == "transferred"
                offer2, _ = await recv_until(ws2, lambda f: f["type"] == "offer")
                assert offer2["kind"] == "transfer" and offer2["interaction_id"] == iid
                r = await http.post(f"{API}/interactions/{iid}/accept", headers=auth(t2))
                assert r.status_code == 200
                p2 = r.json()["party_id"]
                await customer.until(is_event("chat_session_party_left", party_id=p1))
                await customer.until(is_event("chat_session_party_joined", party_id=p2))
                r = await http.post(
                    f"{API}/interactions/{iid}/complete",
                    json={"disposition": "Follow-up needed"},
                    headers=auth(t1),
                )
                assert r.status_code == 200
                history = (
                    await http.get(f"{API}/interactions/{iid}/history", headers=auth(t2))
                ).json()
                assert any(
                    x["event"].get("msg") == "Hi, my bill is wrong" for x in history["events"]
                )
                r = await http.post(
                    f"{API}/interactions/{iid}/messages", json={"msg": "Fixed it"}, headers=auth(t2)
                )
                assert r.status_code == 200
                await customer.until(is_event("chat_session_message", msg="Fixed it"))
                r = await http.post(
                    f"{API}/interactions/{iid}/end",
                    json={"disposition": "Resolved", "notes": "refund issued"},
                    headers=auth(t2),
                )
                assert r.status_code == 200
                await customer.until(is_event("chat_session_ended"))
                await recv_until(ws2, lambda f: f["type"] == "interaction_ended")
                assert (await http.get(API + "/state", headers=auth(t2))).json()[
                    "state"
                ] == "after_call_work"
                r = await http.post(f"{API}/interactions/{iid}/complete", headers=auth(t2))
                assert r.status_code == 200
                await recv_until(ws2, lambda f: f["type"] == "wrap_up_completed")
    async with rt.db.read() as s:
        inter = await interactions.get(session=s, tenant_id=tenant.tenant_id, interaction_id=iid)
        steps = await interactions.steps(session=s, interaction_id=iid)
    assert inter is not None
    assert (inter.state, inter.disposition, inter.notes) == (
        "completed",
        "Resolved",
        "refund issued",
    )
    assert [(st.kind, st.outcome, st.disposition) for st in steps] == [
        ("route", "transferred", "Follow-up needed"),
        ("transfer", "completed", "Resolved"),
    ]
