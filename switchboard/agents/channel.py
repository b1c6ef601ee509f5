"""The agent's realtime channel: the agent's own event queue plus the events of every
chat the agent takes part in, merged, with one resume cursor.

The cursor is an opaque string (today ``a<seq>`` then ``.c<chat_id>:<seq>`` per followed
chat). Every frame carries the cursor *after* that frame; a desktop that reconnects with
the last cursor it processed receives exactly the frames it has not seen (none twice,
none lost), because both logs are durable and numbered under row locks.

Reading is cheap on the hot path: a wake-up by one chat (``chat:<id>``) reads that
chat's new events only (one indexed query); the agent's own queue and the set of chats
it follows are re-read when ``agent:<user>`` wakes it (every change of that set queues
an agent event: offers, answers, ends, transfers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.engine import Connection

from switchboard.agents.actions import agent_topic
from switchboard.agents.models import AgentEvent, AgentSession
from switchboard.chats.events import render
from switchboard.chats.log import CHATS, LogRow, chat_topic
from switchboard.core.db import utcnow
from switchboard.core.errors import Invalid
from switchboard.core.runtime import Runtime
from switchboard.core.sql import Raw
from switchboard.interactions.models import HOLDING_PHASES, Interaction, InteractionStep

# finished chats stay followed this long, for a desktop that was away when they ended
LINGER = timedelta(minutes=10)
_CHAT = re.compile(r"^c([0-9A-Za-z-]{1,64}):(\d{1,12})$")
_AGENT_EVENTS = cast(Table, AgentEvent.__table__)
_STEPS = cast(Table, InteractionStep.__table__)
_INTERACTIONS = cast(Table, Interaction.__table__)


@dataclass
class Cursor:
    agent_seq: int
    chats: dict[str, int] = field(default_factory=dict)

    def encode(self) -> str:
        parts = [f"a{self.agent_seq}"]
        parts += [f"c{cid}:{seq}" for cid, seq in sorted(self.chats.items())]
        return ".".join(parts)

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        parts = raw.strip().split(".")
        if not parts or not parts[0].startswith("a") or not parts[0][1:].isdigit():
            raise Invalid("Invalid cursor")
        if len(parts[0]) > 13 or len(parts) > 1000:
            raise Invalid("Invalid cursor")
        cursor = cls(int(parts[0][1:]))
        for p in parts[1:]:
            m = _CHAT.match(p)
            if m is None:
                raise Invalid("Invalid cursor")
            cursor.chats[m.group(1)] = int(m.group(2))
        return cursor


@dataclass
class Followed:
    chat_id: str
    interaction_id: str
    start_seq: int
    holding: bool


def _followed(
    conn: Connection, tenant_id: str, user_id: str, known: set[str], cutoff: datetime
) -> dict[str, Followed]:
    """Chats the agent takes part in now, plus recently finished ones in ``known``."""
    rows = conn.execute(
        select(
            _STEPS.c.interaction_id,
            _STEPS.c.phase,
            _STEPS.c.start_seq,
            _INTERACTIONS.c.chat_id,
        )
        .join(_INTERACTIONS, _INTERACTIONS.c.id == _STEPS.c.interaction_id)
        .where(
            _STEPS.c.tenant_id == tenant_id,
            _STEPS.c.user_id == user_id,
            or_(
                _STEPS.c.phase.in_(HOLDING_PHASES),
                _STEPS.c.ended_at >= cutoff,
                _STEPS.c.completed_at >= cutoff,
            ),
        )
        .order_by(_STEPS.c.offered_at)
    )
    out: dict[str, Followed] = {}
    for interaction_id, phase, start_seq, chat_id in rows:
        if not chat_id:
            continue
        holding = phase in HOLDING_PHASES
        if not holding and chat_id not in known and chat_id not in out:
            continue
        prev = out.get(chat_id)
        start = start_seq if prev is None else min(prev.start_seq, start_seq)
        out[chat_id] = Followed(
            chat_id, interaction_id, start, holding or (prev is not None and prev.holding)
        )
    return out


def _chat_events(
    raw: Raw, after: dict[str, int], limit: int
) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Events of several chats after their cursors, in one query: chat id -> (seq,
    event as the customer's client sees it)."""
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {cid: [] for cid in after}
    if not after:
        return out
    conds = " OR ".join(["(chat_id = ? AND seq > ?)"] * len(after))
    params: list[Any] = []
    for cid, seq in after.items():
        params += [cid, seq]
    params.append(limit)
    rows = raw.all(
        "SELECT chat_id, seq, payload, party_id, created_at FROM chat_events"  # noqa: S608
        f" WHERE {conds} ORDER BY chat_id, seq LIMIT ?",
        tuple(params),
    )
    for chat_id, *row in rows:
        logged = LogRow(raw, *row)
        out[chat_id].append((logged.seq, render(logged, chat_id)))
    return out


def _chat_frames(
    frames: list[dict[str, Any]],
    cur: Cursor,
    batches: dict[str, list[tuple[int, dict[str, Any]]]],
    followed: dict[str, Followed] | None,
    limit: int,
) -> None:
    truncated = sum(len(b) for b in batches.values()) >= limit
    for chat_id, batch in batches.items():
        for seq, event in batch:
            cur.chats[chat_id] = seq
            frames.append(
                {
                    "type": "chat_event",
                    "chat_id": chat_id,
                    "chat_seq": seq,
                    "event": event,
                    "cursor": cur.encode(),
                }
            )
        if followed is not None:
            f = followed[chat_id]
            if not batch and not f.holding and not truncated:
                # finished and fully delivered: stop following it
                del cur.chats[chat_id]


def _collect(
    conn: Connection,
    tenant_id: str,
    user_id: str,
    cursor: Cursor,
    limit: int,
    cutoff: datetime,
) -> tuple[list[dict[str, Any]], Cursor, dict[str, Followed]]:
    """Everything after the cursor: the agent's queue, the chats it follows now."""
    frames: list[dict[str, Any]] = []
    cur = Cursor(cursor.agent_seq, dict(cursor.chats))
    for ev in conn.execute(
        select(
            _AGENT_EVENTS.c.seq,
            _AGENT_EVENTS.c.type,
            _AGENT_EVENTS.c.payload,
            _AGENT_EVENTS.c.created_at,
        )
        .where(_AGENT_EVENTS.c.user_id == user_id, _AGENT_EVENTS.c.seq > cur.agent_seq)
        .order_by(_AGENT_EVENTS.c.seq)
        .limit(limit)
    ):
        cur.agent_seq = ev.seq
        frame: dict[str, Any] = {"type": ev.type, "seq": ev.seq, **(ev.payload or {})}
        frame["at"] = ev.created_at.isoformat()
        frame["cursor"] = cur.encode()
        frames.append(frame)
    followed = _followed(conn, tenant_id, user_id, set(cur.chats), cutoff)
    cur.chats = {cid: cur.chats.get(cid, f.start_seq) for cid, f in followed.items()}
    _chat_frames(frames, cur, _chat_events(Raw(conn), dict(cur.chats), limit), followed, limit)
    return frames, cur, followed


def _collect_chats(
    raw: Raw, cursor: Cursor, limit: int, only: list[str]
) -> tuple[list[dict[str, Any]], Cursor]:
    """The new events of the chats that woke the reader (the hot path: one query)."""
    frames: list[dict[str, Any]] = []
    cur = Cursor(cursor.agent_seq, dict(cursor.chats))
    wanted = {cid: cur.chats[cid] for cid in only if cid in cur.chats}
    _chat_frames(frames, cur, _chat_events(raw, wanted, limit), None, limit)
    return frames, cur


@dataclass
class Stream:
    """One reader of an agent's channel (a WebSocket or a long poll)."""

    rt: Runtime
    tenant_id: str
    user_id: str
    cursor: Cursor
    interactions: dict[str, str] = field(default_factory=dict)
    holding: set[str] = field(default_factory=set)
    limit: int = 200

    @property
    def topics(self) -> list[str]:
        """The agent's own topic and those of the chats it follows."""
        return [agent_topic(self.user_id)] + [chat_topic(c) for c in sorted(self.cursor.chats)]

    async def read(self, only: list[str] | None = None) -> list[dict[str, Any]]:
        """Frames after the cursor: everything, or (``only``) the new events of those
        followed chats. Moves the cursor."""
        if only is None:
            frames, cur, followed = await self.rt.db.run_read(
                _collect, self.tenant_id, self.user_id, self.cursor, self.limit, utcnow() - LINGER
            )
            self.interactions = {cid: f.interaction_id for cid, f in followed.items()}
            self.holding = {cid for cid, f in followed.items() if f.holding}
        else:
            frames, cur = await self.rt.db.raw_read(_collect_chats, self.cursor, self.limit, only)
        for frame in frames:
            if frame["type"] == "chat_event":
                frame["interaction_id"] = self.interactions.get(frame["chat_id"], "")
        self.cursor = cur
        return frames


def _now_cursor(conn: Connection, tenant_id: str, user_id: str, cutoff: datetime) -> Cursor:
    agent = conn.execute(
        select(cast(Table, AgentSession.__table__).c.last_seq).where(
            cast(Table, AgentSession.__table__).c.user_id == user_id
        )
    ).first()
    cursor = Cursor(agent.last_seq if agent is not None else 0)
    followed = _followed(conn, tenant_id, user_id, set(), cutoff)
    if followed:
        rows = conn.execute(
            select(CHATS.c.id, CHATS.c.last_seq).where(CHATS.c.id.in_(list(followed)))
        )
        cursor.chats = {cid: seq for cid, seq in rows}
    return cursor


async def cursor_now(rt: Runtime, *, tenant_id: str, user_id: str) -> Cursor:
    """A cursor at the present: what happens from now on."""
    return await rt.db.run_read(_now_cursor, tenant_id, user_id, utcnow() - LINGER)


def chat_of_topic(topic: str) -> str | None:
    return topic[5:] if topic.startswith("chat:") else None
