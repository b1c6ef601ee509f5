"""The agent's realtime channel: the agent's own event queue plus the customer events of
every chat the agent takes part in, merged, with one resume cursor.

The cursor is an opaque string (today ``a<seq>`` then ``.c<chat_id>:<seq>`` per followed
chat). Every frame carries the cursor *after* that frame; a desktop that reconnects with
the last cursor it processed receives exactly the frames it has not seen (none twice,
none lost), because both logs are durable and numbered under row locks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.models import AgentEvent, AgentSession
from switchboard.chats.models import ChatSession
from switchboard.core.db import utcnow
from switchboard.core.errors import Invalid
from switchboard.core.runtime import Runtime
from switchboard.interactions import chatops
from switchboard.interactions.models import HOLDING_PHASES, Interaction, InteractionStep

# finished chats stay followed this long, for a desktop that was away when they ended
LINGER = timedelta(minutes=10)
_CHAT = re.compile(r"^c([0-9A-Za-z-]{1,64}):(\d{1,12})$")


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


async def followed_chats(
    s: AsyncSession, tenant_id: str, user_id: str, known: set[str]
) -> dict[str, Followed]:
    """Chats the agent takes part in now, plus recently finished ones in ``known``."""
    cutoff = utcnow() - LINGER
    stmt = (
        select(InteractionStep, Interaction.chat_id)
        .join(Interaction, Interaction.id == InteractionStep.interaction_id)
        .where(
            InteractionStep.tenant_id == tenant_id,
            InteractionStep.user_id == user_id,
            or_(
                InteractionStep.phase.in_(HOLDING_PHASES),
                InteractionStep.ended_at >= cutoff,
                InteractionStep.completed_at >= cutoff,
            ),
        )
        .order_by(InteractionStep.offered_at)
    )
    out: dict[str, Followed] = {}
    for step, chat_id in (await s.execute(stmt)).all():
        if not chat_id:
            continue
        holding = step.phase in HOLDING_PHASES
        if not holding and chat_id not in known and chat_id not in out:
            continue
        prev = out.get(chat_id)
        start = step.start_seq if prev is None else min(prev.start_seq, step.start_seq)
        out[chat_id] = Followed(
            chat_id, step.interaction_id, start, holding or (prev is not None and prev.holding)
        )
    return out


async def cursor_now(rt: Runtime, *, tenant_id: str, user_id: str) -> Cursor:
    """A cursor at the present: what happens from now on."""
    async with rt.db.read() as s:
        agent = await s.get(AgentSession, user_id)
        cursor = Cursor(agent.last_seq if agent is not None else 0)
        followed = await followed_chats(s, tenant_id, user_id, set())
        if followed:
            rows = await s.execute(
                select(ChatSession.id, ChatSession.last_seq).where(
                    ChatSession.id.in_(list(followed))
                )
            )
            cursor.chats = {cid: seq for cid, seq in rows.all()}
    return cursor


async def collect(
    rt: Runtime, *, tenant_id: str, user_id: str, cursor: Cursor, limit: int = 200
) -> tuple[list[dict[str, Any]], Cursor, list[str]]:
    """Frames after ``cursor`` (at most about ``limit``), the cursor after them, and the
    chats to listen to."""
    frames: list[dict[str, Any]] = []
    cur = Cursor(cursor.agent_seq, dict(cursor.chats))
    async with rt.db.read() as s:
        events = (
            (
                await s.execute(
                    select(AgentEvent)
                    .where(AgentEvent.user_id == user_id, AgentEvent.seq > cur.agent_seq)
                    .order_by(AgentEvent.seq)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        for ev in events:
            cur.agent_seq = ev.seq
            frame: dict[str, Any] = {"type": ev.type, "seq": ev.seq, **(ev.payload or {})}
            frame["at"] = ev.created_at.isoformat()
            frame["cursor"] = cur.encode()
            frames.append(frame)
        followed = await followed_chats(s, tenant_id, user_id, set(cur.chats))
        cur.chats = {cid: cur.chats.get(cid, f.start_seq) for cid, f in followed.items()}
        batches = await chatops.events_after_many(session=s, after=dict(cur.chats), limit=limit)
        truncated = sum(len(b) for b in batches.values()) >= limit
        for chat_id, f in followed.items():
            batch = batches[chat_id]
            for seq, event in batch:
                cur.chats[chat_id] = seq
                frames.append(
                    {
                        "type": "chat_event",
                        "interaction_id": f.interaction_id,
                        "chat_id": chat_id,
                        "chat_seq": seq,
                        "event": event,
                        "cursor": cur.encode(),
                    }
                )
            if not batch and not f.holding and not truncated:
                # finished and fully delivered: stop following it
                del cur.chats[chat_id]
    listen = [cid for cid, f in followed.items() if f.holding or cid in cur.chats]
    return frames, cur, listen


def ends_chat(event: dict[str, Any]) -> bool:
    name = event.get("event")
    if name in ("chat_session_ended", "chat_session_end", "chat_session_inactivity_timeout"):
        return True
    return name == "chat_session_status" and event.get("state") in ("completed", "failed")
