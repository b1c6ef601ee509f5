"""The agent's WebSocket channel on a real server: offers and customer events arrive
live, and a desktop that reconnects with its last cursor misses nothing and sees
nothing twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from switchboard.core.runtime import Runtime
from tests.conftest import LiveServer, TenantInfo
from tests.test_agent_support import API, agent_login, auth, configure, customer_sends, new_chat


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
    return live_server_factory(routing_poll_seconds=0.2, long_poll_seconds=1.0)


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
                rt, tenant, chat_id, "rt-cust", {"event": "chat_session_message", "msg": "one"}
            )
            frame, _ = await recv_until(ws, lambda f: chat_msg(f) == "one")
            cursor = frame["cursor"]
        # offline: the customer goes on, the agent's state changes
        await customer_sends(
            rt, tenant, chat_id, "rt-cust", {"event": "chat_session_message", "msg": "two"}
        )
        await customer_sends(
            rt, tenant, chat_id, "rt-cust", {"event": "chat_session_message", "msg": "three"}
        )
        r = await http.put(
            API + "/state", json={"state": "not_ready", "reason": "Break"}, headers=auth(token)
        )
        assert r.status_code == 200
        async with connect(ws_url(server, token, cursor)) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            _, seen = await recv_until(ws, lambda f: f["type"] == "state")
            await customer_sends(
                rt, tenant, chat_id, "rt-cust", {"event": "chat_session_message", "msg": "four"}
            )
            _, more = await recv_until(ws, lambda f: chat_msg(f) == "four")
            msgs = [m for m in (chat_msg(f) for f in seen + more) if m]
            assert msgs == ["two", "three", "four"]  # none lost, none repeated
            await ws.send(json.dumps({"type": "ping", "ref": 7}))
            pong, _ = await recv_until(ws, lambda f: f["type"] == "pong")
            assert pong["ref"] == 7
            # the customer leaves: the agent hears it and is released
            await customer_sends(rt, tenant, chat_id, "rt-cust", {"event": "chat_session_end"})
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
