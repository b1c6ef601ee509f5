"""The agent's realtime channel: a WebSocket (``/agentapi/v1/ws``) and the same stream as
a long poll (``GET /agentapi/v1/events``) for clients that cannot keep a socket.

Frames are JSON objects with a ``type`` and the ``cursor`` to resume after them. No
database session is held while waiting: each wake re-reads the durable logs, and a
wake by one chat reads that chat only.

The socket authenticates with ``Authorization: Bearer`` on the upgrade request, or (the
desktop: browsers cannot set that header) with a first frame ``{"type": "auth",
"access_token": "..."}`` sent within 10 seconds; a token in the URL (``access_token``)
is still accepted from other clients, and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from switchboard.agents.actions import agent_topic, state_payload
from switchboard.agents.channel import Cursor, Stream, chat_of_topic, cursor_now
from switchboard.agents.models import AgentSession
from switchboard.api.agent.deps import CurrentAgent, RuntimeDep, principal_for
from switchboard.api.agent.schemas import Events
from switchboard.auth.service import Principal
from switchboard.core import metrics
from switchboard.core.bus import Waiter
from switchboard.core.errors import DomainError, Invalid, Unauthorized
from switchboard.core.runtime import Runtime
from switchboard.presence import actions as presence

log = logging.getLogger(__name__)
router = APIRouter(prefix="/agentapi/v1", tags=["Agent API"])

HEARTBEAT_SECONDS = 25.0
AUTH_FRAME_SECONDS = 10.0


async def _cursor(rt: Runtime, principal: Principal, raw: str | None) -> Cursor:
    if raw:
        return Cursor.decode(raw)
    return await cursor_now(rt, tenant_id=principal.tenant_id, user_id=principal.user_id)


def _what_woke(stream: Stream, waiter: Waiter) -> list[str] | None:
    """The chats to read after a wake-up, or None to read everything (the agent's own
    queue changed, or the bus reconnected)."""
    chats: list[str] = []
    mine = agent_topic(stream.user_id)
    for topic, _payload in waiter.drain_pairs():
        if topic == mine or not topic:
            return None
        chat = chat_of_topic(topic)
        if chat is None:
            return None
        if chat not in chats:
            chats.append(chat)
    return chats


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
    if not 0 <= timeout <= 3600:
        raise Invalid(
            "timeout must be a number of seconds between 0 and 3600 (30 at most are used)"
        )
    stream = Stream(
        rt, principal.tenant_id, principal.user_id, await _cursor(rt, principal, cursor)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeout, 30.0)
    frames = await stream.read()
    while not frames:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        async with rt.bus.listen(stream.topics) as waiter:
            frames = await stream.read()  # what committed before we listened
            if frames or not await waiter.wait(min(remaining, rt.settings.long_poll_seconds)):
                continue
            frames = await stream.read(_what_woke(stream, waiter))
    return Events(events=frames, cursor=stream.cursor.encode())


class _Socket:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.lock:
            await self.ws.send_text(json.dumps(frame, separators=(",", ":")))


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


async def _token(ws: WebSocket) -> str:
    auth = ws.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = ws.query_params.get("access_token", "")
    if token:
        return token
    # the desktop's way: the first frame carries the token
    try:
        async with asyncio.timeout(AUTH_FRAME_SECONDS):
            first = await ws.receive_json()
    except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError):
        return ""
    if isinstance(first, dict) and first.get("type") == "auth":
        return str(first.get("access_token") or "")
    return ""


@router.websocket("/ws")
async def agent_socket(ws: WebSocket) -> None:
    """Authentication: ``Authorization: Bearer``, or a first frame ``{"type": "auth",
    "access_token"}``; optional query ``cursor`` to resume."""
    rt: Runtime = ws.app.state.rt
    await ws.accept()
    try:
        token = await _token(ws)
        if not token:
            raise Unauthorized("Authorization: Bearer <agent session token> is required")
        principal = await principal_for(rt, token)
        cursor = await _cursor(rt, principal, ws.query_params.get("cursor"))
    except DomainError as e:
        with contextlib.suppress(Exception):
            await ws.send_json({"type": "error", "error": e.kind, "message": e.message})
            await ws.close(code=4401 if e.status in (401, 403) else 4400)
        return
    # the desktop counts as present while a socket is open (switchboard/presence)
    await presence.opened(rt, tenant_id=principal.tenant_id, user_id=principal.user_id)
    sock = _Socket(ws)
    reader = asyncio.create_task(_reader(sock))
    try:
        async with rt.db.read() as s:
            agent = await s.get(AgentSession, principal.user_id)
            hello = state_payload(agent) if agent is not None else {"state": "logged_out"}
        await sock.send({"type": "hello", "agent": hello, "cursor": cursor.encode()})
        stream = Stream(rt, principal.tenant_id, principal.user_id, cursor)
        with metrics.holding_poll("agent"):
            await _pump(rt, stream, sock, reader, token)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        with contextlib.suppress(Exception):
            await ws.close()
        await asyncio.shield(
            presence.closed(rt, tenant_id=principal.tenant_id, user_id=principal.user_id)
        )


async def _pump(
    rt: Runtime, stream: Stream, sock: _Socket, reader: asyncio.Task[None], token: str
) -> None:
    loop = asyncio.get_running_loop()
    last_sent = loop.time()
    while not reader.done():
        topics = stream.topics
        # listen first, then read: whatever commits after the read wakes the waiter
        async with rt.bus.listen(topics) as waiter:
            only: list[str] | None = None
            while not reader.done():
                frames = await stream.read(only)
                for frame in frames:
                    await sock.send(frame)
                if frames:
                    last_sent = loop.time()
                if len(frames) >= stream.limit:
                    only = None
                    continue  # more is waiting
                if stream.topics != topics:
                    break  # listen to the new set of chats (and read once more)
                wait = max(0.0, HEARTBEAT_SECONDS - (loop.time() - last_sent))
                woke = asyncio.create_task(waiter.wait(wait))
                await asyncio.wait({woke, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not woke.done():
                    woke.cancel()  # the client left (never awaited: see core.alarms)
                    return
                if not woke.result():
                    break  # heartbeat time
                only = _what_woke(stream, waiter)
        if loop.time() - last_sent >= HEARTBEAT_SECONDS:
            try:
                await principal_for(rt, token)
            except DomainError as e:
                await sock.send({"type": "error", "error": e.kind, "message": e.message})
                await sock.ws.close(code=4401)
                return
            await sock.send({"type": "heartbeat", "cursor": stream.cursor.encode()})
            last_sent = loop.time()
