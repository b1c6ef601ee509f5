"""The agent's realtime channel: a WebSocket (``/agentapi/v1/ws``) and the same stream as
a long poll (``GET /agentapi/v1/events``) for clients that cannot keep a socket.

Frames are JSON objects with a ``type`` and the ``cursor`` to resume after them. No
database session is held while waiting: each wake re-reads the durable logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from switchboard.agents.actions import agent_topic, state_payload
from switchboard.agents.channel import Cursor, collect, cursor_now, ends_chat
from switchboard.agents.models import AgentSession
from switchboard.api.agent.deps import CurrentAgent, RuntimeDep, principal_for
from switchboard.api.agent.schemas import Events
from switchboard.auth.service import Principal
from switchboard.core.errors import DomainError
from switchboard.core.runtime import Runtime
from switchboard.interactions import chatops
from switchboard.interactions.actions import chat_finished

log = logging.getLogger(__name__)
router = APIRouter(prefix="/agentapi/v1", tags=["Agent API"])

HEARTBEAT_SECONDS = 25.0


async def _cursor(rt: Runtime, principal: Principal, raw: str | None) -> Cursor:
    if raw:
        return Cursor.decode(raw)
    return await cursor_now(rt, tenant_id=principal.tenant_id, user_id=principal.user_id)


async def _finish_ended(rt: Runtime, principal: Principal, frames: list[dict[str, Any]]) -> None:
    """Release the agent the moment a customer ends a chat (the worker would, later)."""
    for f in frames:
        if f.get("type") == "chat_event" and ends_chat(f.get("event") or {}):
            with contextlib.suppress(DomainError):
                await chat_finished(
                    rt, tenant_id=principal.tenant_id, chat_id=f["chat_id"], reason="customer_left"
                )


@router.get(
    "/events",
    summary="The realtime channel as a long poll: frames after cursor (waits up to timeout)",
    response_model=Events,
)
async def poll_events(
    principal: CurrentAgent,
    rt: RuntimeDep,
    cursor: str | None = None,
    timeout: float = 10.0,
) -> Events:
    cur = await _cursor(rt, principal, cursor)
    timeout = max(0.0, min(timeout, 30.0))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        frames, new, chats = await collect(
            rt, tenant_id=principal.tenant_id, user_id=principal.user_id, cursor=cur
        )
        if frames:
            await _finish_ended(rt, principal, frames)
            return Events(events=frames, cursor=new.encode())
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return Events(events=[], cursor=new.encode())
        topics = [agent_topic(principal.user_id)] + [chatops.chat_topic(c) for c in chats]
        async with rt.bus.listen(topics) as waiter:
            frames, new, chats2 = await collect(
                rt, tenant_id=principal.tenant_id, user_id=principal.user_id, cursor=cur
            )
            if frames:
                await _finish_ended(rt, principal, frames)
                return Events(events=frames, cursor=new.encode())
            if chats2 == chats:
                await waiter.wait(min(remaining, rt.settings.long_poll_seconds))
        cur = new


class _Socket:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send_json(frame)


async def _reader(sock: _Socket) -> None:
    """Answer pings; return when the client goes away."""
    while True:
        try:
            msg = await sock.ws.receive_json()
        except (WebSocketDisconnect, RuntimeError):
            return
        except ValueError:
            await sock.send({"type": "error", "message": "frames must be JSON objects"})
            continue
        if isinstance(msg, dict) and msg.get("type") == "ping":
            await sock.send({"type": "pong", "ref": msg.get("ref")})


@router.websocket("/ws")
async def agent_socket(ws: WebSocket) -> None:
    """Query: ``access_token`` (or ``Authorization: Bearer``), optional ``cursor``."""
    rt: Runtime = ws.app.state.rt
    token = ws.query_params.get("access_token", "")
    if not token:
        auth = ws.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
    try:
        principal = await principal_for(rt, token)
        cursor = await _cursor(rt, principal, ws.query_params.get("cursor"))
    except DomainError as e:
        await ws.accept()
        await ws.send_json({"type": "error", "error": e.kind, "message": e.message})
        await ws.close(code=4401 if e.status in (401, 403) else 4400)
        return
    await ws.accept()
    sock = _Socket(ws)
    reader = asyncio.create_task(_reader(sock))
    try:
        async with rt.db.read() as s:
            agent = await s.get(AgentSession, principal.user_id)
            hello = state_payload(agent) if agent is not None else {"state": "logged_out"}
        await sock.send({"type": "hello", "agent": hello, "cursor": cursor.encode()})
        await _pump(rt, principal, sock, cursor, reader, token)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        with contextlib.suppress(Exception):
            await ws.close()


async def _pump(
    rt: Runtime,
    principal: Principal,
    sock: _Socket,
    cursor: Cursor,
    reader: asyncio.Task[None],
    token: str,
) -> None:
    loop = asyncio.get_running_loop()
    last_sent = loop.time()
    limit = 200
    chats: list[str] | None = None
    while not reader.done():
        # listen first, then read: whatever commits after the read wakes the waiter
        topics = [agent_topic(principal.user_id)]
        topics += [chatops.chat_topic(c) for c in chats or ()]
        async with rt.bus.listen(topics) as waiter:
            while not reader.done():
                frames, cursor, now_chats = await collect(
                    rt,
                    tenant_id=principal.tenant_id,
                    user_id=principal.user_id,
                    cursor=cursor,
                    limit=limit,
                )
                for f in frames:
                    await sock.send(f)
                if frames:
                    last_sent = loop.time()
                    await _finish_ended(rt, principal, frames)
                if now_chats != chats:
                    chats = now_chats
                    break  # listen to the new set of chats (and read once more)
                if len(frames) >= limit:
                    continue  # more is waiting
                wait = min(rt.settings.long_poll_seconds, HEARTBEAT_SECONDS)
                woke = asyncio.create_task(waiter.wait(wait))
                await asyncio.wait({woke, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not woke.done():
                    woke.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await woke
                    return
                if loop.time() - last_sent >= HEARTBEAT_SECONDS:
                    break
        if loop.time() - last_sent >= HEARTBEAT_SECONDS:
            try:
                await principal_for(rt, token)
            except DomainError as e:
                await sock.send({"type": "error", "error": e.kind, "message": e.message})
                await sock.ws.close(code=4401)
                return
            await sock.send({"type": "heartbeat", "cursor": cursor.encode()})
            last_sent = loop.time()
