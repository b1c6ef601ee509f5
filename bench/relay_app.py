"""The baseline of ``bench.chat_relay``: an in-memory chat relay on the same stack.

It answers the requests the load generator sends to Switchboard (Messaging API v1
customers with long polls, agents with a WebSocket and REST), with the same FastAPI +
uvicorn settings, but keeps everything in memory: no database, no routing, no
durability. Whatever the engine costs above this is the price of the engine.

    uvicorn --factory bench.relay_app:create
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

HOLD = 10.0


@dataclass
class Chat:
    id: str
    agent: str | None = None
    seq: int = 0
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Agent:
    token: str
    sockets: set[WebSocket] = field(default_factory=set)


class Relay:
    def __init__(self) -> None:
        self.chats: dict[str, Chat] = {}
        self.agents: dict[str, Agent] = {}
        self.order = itertools.count()

    async def frame(self, agent: str | None, frame: dict[str, Any]) -> None:
        a = self.agents.get(agent or "")
        if a is None:
            return
        text = json.dumps(frame)
        for ws in list(a.sockets):
            try:
                await ws.send_text(text)
            except Exception:
                a.sockets.discard(ws)

    def assign(self, chat: Chat) -> str | None:
        online = [t for t, a in self.agents.items() if a.sockets]
        if not online:
            return None
        return online[next(self.order) % len(online)]


def _json(body: Any) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


def create() -> FastAPI:
    app = FastAPI()
    relay = Relay()

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = json.loads(raw) if raw else {}
        return data if isinstance(data, dict) else {}

    @app.get("/health")
    async def health() -> Response:
        return _json({"status": "ok"})

    @app.post("/clientweb/api/v1/chats")
    async def request_chat(request: Request) -> Response:
        await body(request)
        chat = Chat(id=secrets.token_hex(16))
        relay.chats[chat.id] = chat
        chat.agent = relay.assign(chat)
        await relay.frame(
            chat.agent,
            {"type": "offer", "interaction_id": chat.id, "chat_id": chat.id, "t": time.time()},
        )
        return _json({"chat_id": chat.id, "state": "queued", "ewt": "0", "is_new_chat": True})

    @app.get("/clientweb/api/v1/chats/{chat_id}/events")
    async def poll(chat_id: str) -> Response:
        chat = relay.chats[chat_id]
        if not chat.pending:
            chat.wake.clear()
            try:
                async with asyncio.timeout(HOLD):
                    await chat.wake.wait()
            except TimeoutError:
                pass
        events = list(chat.pending)
        chat.pending.clear()
        return _json({"events": events})

    @app.post("/clientweb/api/v1/chats/{chat_id}/events")
    async def send(request: Request, chat_id: str) -> Response:
        data = await body(request)
        chat = relay.chats[chat_id]
        for event in data.get("events") or []:
            chat.seq += 1
            await relay.frame(
                chat.agent,
                {
                    "type": "chat_event",
                    "chat_id": chat.id,
                    "interaction_id": chat.id,
                    "chat_seq": chat.seq,
                    "event": {**event, "party_id": chat.id},
                },
            )
        events = list(chat.pending)
        chat.pending.clear()
        return _json({"events": events})

    @app.post("/agentapi/v1/login")
    async def login(request: Request) -> Response:
        await body(request)
        token = secrets.token_hex(16)
        relay.agents[token] = Agent(token)
        return _json({"access_token": token, "token_type": "Bearer"})

    @app.post("/agentapi/v1/interactions/{interaction_id}/accept")
    async def accept(interaction_id: str) -> Response:
        return _json({"party_id": secrets.token_hex(8)})

    @app.post("/agentapi/v1/interactions/{interaction_id}/messages")
    async def message(request: Request, interaction_id: str) -> Response:
        data = await body(request)
        chat = relay.chats[interaction_id]
        chat.seq += 1
        event = {
            "event": "chat_session_message",
            "msg": data.get("msg", ""),
            "msg_id": f"{chat.id}-{chat.seq}",
            "party_id": "agent",
            "timestamp": str(int(time.time())),
        }
        chat.pending.append(event)
        chat.wake.set()
        await relay.frame(
            chat.agent,
            {
                "type": "chat_event",
                "chat_id": chat.id,
                "interaction_id": chat.id,
                "chat_seq": chat.seq,
                "event": event,
            },
        )
        return _json({"seq": chat.seq})

    @app.websocket("/agentapi/v1/ws")
    async def socket(ws: WebSocket) -> None:
        auth = ws.headers.get("authorization", "")
        token = auth.partition(" ")[2].strip()
        agent = relay.agents.get(token)
        await ws.accept()
        if agent is None:
            await ws.close(code=4401)
            return
        agent.sockets.add(ws)
        await ws.send_text(json.dumps({"type": "hello", "cursor": "a0"}))
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            agent.sockets.discard(ws)

    return app
