"""Every change to an agent session: login, state, capacity claims, events.

The agent's ``AgentSession`` row is the lock for everything that changes its load or its
event queue (``SELECT ... FOR UPDATE``; SQLite serialises writers), so claims are exact
across any number of server processes.

The ``*_in`` primitives run inside the caller's write transaction on a row locked with
``lock_agent``; they queue their wake-ups with ``after_commit``: ``agent:<user_id>``
(the agent's realtime channel) whenever an event is queued for the agent, and
``routing:<tenant_id>`` whenever the agent may have become available. The
interactions domain builds offers, answers, ends and logouts on them; the operations
here (login, state, the dialer's claims) touch only the agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.models import (
    ACW,
    BUSY,
    LOGGED_OUT,
    NOT_READY,
    READY,
    AgentEvent,
    AgentLoad,
    AgentSession,
    AgentStateChange,
)
from switchboard.chats.log import routing_topic
from switchboard.core.db import after_commit, utcnow
from switchboard.core.errors import Conflict, Forbidden, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.services.models import NotReadyReason, Skill
from switchboard.teams.models import Team
from switchboard.users.models import Privilege, User, UserSkill

DEFAULT_CHAT_CAPACITY = 3
SLOTS = {"chat": "chat", "voice": "voice", "outbound": "voice", "email": "email"}


def agent_topic(user_id: str) -> str:
    return f"agent:{user_id}"


def slot_of(media: str) -> str:
    try:
        return SLOTS[media]
    except KeyError:
        raise Invalid(f"Unknown media: {media}; expected one of {', '.join(SLOTS)}") from None


# ---- capacity ------------------------------------------------------------------------


async def capacities(s: AsyncSession, user: User) -> dict[str, int]:
    """Chats at once: the user's ``chat_capacity``, else the team's default; one call;
    e-mails like chats."""
    chat = user.chat_capacity
    if chat is None and user.team_id is not None:
        team = await s.get(Team, user.team_id)
        if team is not None:
            chat = team.default_chat_capacity
    if chat is None:
        chat = DEFAULT_CHAT_CAPACITY
    return {"chat": max(0, chat), "voice": 1, "email": max(0, chat)}


async def _apply_capacities(s: AsyncSession, agent: AgentSession, user: User) -> None:
    loads = await loads_of(s, agent.user_id)
    for slot, cap in (await capacities(s, user)).items():
        row = loads.get(slot)
        if row is None:
            s.add(
                AgentLoad(
                    user_id=agent.user_id,
                    media=slot,
                    tenant_id=agent.tenant_id,
                    capacity=cap,
                    active=0,
                    wrapup=0,
                )
            )
        else:
            row.capacity = cap
    await s.flush()


async def loads_of(s: AsyncSession, user_id: str) -> dict[str, AgentLoad]:
    rows = (await s.execute(select(AgentLoad).where(AgentLoad.user_id == user_id))).scalars()
    return {r.media: r for r in rows}


# ---- rows, state and events inside a transaction ------------------------------------


async def lock_agent(
    s: AsyncSession, tenant_id: str, user_id: str, *, skip_locked: bool = False
) -> AgentSession | None:
    stmt = (
        select(AgentSession)
        .where(AgentSession.user_id == user_id, AgentSession.tenant_id == tenant_id)
        .with_for_update(skip_locked=skip_locked)
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def ensure_agent_in(
    s: AsyncSession, tenant_id: str, user_id: str, *, now: datetime
) -> AgentSession:
    """The agent's session row, locked; created (logged out) if it does not exist yet.
    A concurrent creation makes the caller's transaction fail with IntegrityError: the
    caller retries the whole operation."""
    agent = await lock_agent(s, tenant_id, user_id)
    if agent is not None:
        return agent
    user = await s.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound("Agent not found")
    if await s.get(AgentSession, user_id) is not None:
        raise NotFound("Agent not found")  # the id belongs to another tenant's agent
    agent = AgentSession(
        user_id=user_id,
        tenant_id=tenant_id,
        state=LOGGED_OUT,
        presence=NOT_READY,
        state_since=now,
        idle_since=now,
        last_seq=0,
        updated_at=now,
    )
    s.add(agent)
    await s.flush()
    return agent


def queue_event(
    s: AsyncSession, agent: AgentSession, type_: str, payload: Mapping[str, Any]
) -> int:
    """Append an event to the agent's realtime queue (``agent`` must be locked); the
    agent's channel is woken after the commit."""
    agent.last_seq += 1
    after_commit(s, agent_topic(agent.user_id), str(agent.last_seq))
    s.add(
        AgentEvent(
            tenant_id=agent.tenant_id,
            user_id=agent.user_id,
            seq=agent.last_seq,
            type=type_,
            payload=dict(payload),
            created_at=utcnow(),
        )
    )
    return agent.last_seq


def derive_state(agent: AgentSession, loads: Iterable[AgentLoad]) -> str:
    if agent.login_at is None:
        return LOGGED_OUT
    rows = list(loads)
    if any(r.active > 0 for r in rows):
        return BUSY
    if any(r.wrapup > 0 for r in rows):
        return ACW
    return agent.presence


def state_payload(agent: AgentSession) -> dict[str, Any]:
    return {
        "state": agent.state,
        "reason": agent.reason if agent.state == NOT_READY else None,
        "since": agent.state_since.isoformat(),
        "next_state": agent.presence if agent.state in (BUSY, ACW) else None,
        "next_reason": agent.reason
        if agent.state in (BUSY, ACW) and agent.presence == NOT_READY
        else None,
        "login_at": agent.login_at.isoformat() if agent.login_at else None,
    }


async def refresh_state_in(
    s: AsyncSession,
    agent: AgentSession,
    *,
    now: datetime | None = None,
    force_event: bool = False,
    loads: Iterable[AgentLoad] | None = None,
    prev_reason: str | None = None,
    reason_changed: bool = False,
) -> bool:
    """Recompute the agent's state from presence and load; log and announce a change.

    With ``reason_changed``, ``prev_reason`` is the not-ready reason the open log row
    carries (the caller changed ``agent.reason``); else it is derived from the agent."""
    now = now or utcnow()
    rows = list(loads) if loads is not None else list((await loads_of(s, agent.user_id)).values())
    new_state = derive_state(agent, rows)
    new_reason = agent.reason if new_state == NOT_READY else None
    reason = prev_reason if reason_changed else agent.reason
    old_reason = reason if agent.state == NOT_READY else None
    changed = new_state != agent.state or new_reason != old_reason or agent.log_id is None
    if changed:
        if agent.log_id is not None:
            await s.execute(
                update(AgentStateChange)
                .where(AgentStateChange.id == agent.log_id)
                .values(ended_at=now)
            )
        if new_state != LOGGED_OUT:
            row = AgentStateChange(
                tenant_id=agent.tenant_id,
                user_id=agent.user_id,
                state=new_state,
                reason=new_reason,
                started_at=now,
            )
            s.add(row)
            await s.flush()
            agent.log_id = row.id
        else:
            agent.log_id = None
        if new_state != agent.state:
            agent.state_since = now
        if (
            new_state == READY
            and agent.state != READY
            and not any(r.active or r.wrapup for r in rows)
        ):
            agent.idle_since = max(agent.idle_since, now)
        agent.state = new_state
    agent.updated_at = now
    if changed or force_event:
        queue_event(s, agent, "state", state_payload(agent))
    return changed


def is_routable(agent: AgentSession) -> bool:
    return agent.login_at is not None and agent.presence == READY and agent.state in (READY, BUSY)


def has_room(load: AgentLoad | None) -> bool:
    return load is not None and load.active + load.wrapup < load.capacity


async def reserve_in(
    s: AsyncSession, agent: AgentSession, slot: str, *, now: datetime | None = None
) -> None:
    """Take one slot of ``slot`` (the caller checked there is room)."""
    now = now or utcnow()
    loads = await loads_of(s, agent.user_id)
    load = loads.get(slot)
    if load is None:
        raise Conflict("Agent has no capacity for this media")
    load.active += 1
    agent.idle_since = now
    await refresh_state_in(s, agent, now=now, loads=loads.values())


async def release_in(
    s: AsyncSession,
    agent: AgentSession,
    slot: str,
    *,
    wrap_up: bool = False,
    from_wrapup: bool = False,
    now: datetime | None = None,
) -> None:
    """Give back one slot: ``active`` -> free (or -> ``wrapup`` when ``wrap_up``), or
    ``wrapup`` -> free when ``from_wrapup``."""
    now = now or utcnow()
    loads = await loads_of(s, agent.user_id)
    load = loads.get(slot)
    if load is not None:
        if from_wrapup:
            load.wrapup = max(0, load.wrapup - 1)
        else:
            load.active = max(0, load.active - 1)
            if wrap_up:
                load.wrapup += 1
        if not any(r.active or r.wrapup for r in loads.values()):
            agent.idle_since = max(agent.idle_since, now)
    await refresh_state_in(s, agent, now=now, loads=loads.values())
    if not wrap_up and is_routable(agent):
        after_commit(s, routing_topic(agent.tenant_id), "agent")


async def set_presence_in(
    s: AsyncSession,
    agent: AgentSession,
    presence: str,
    reason: str | None,
    *,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    presence_changed = presence != agent.presence or reason != agent.reason
    if presence == READY and agent.presence != READY:
        agent.idle_since = max(agent.idle_since, now)
    prev = agent.reason
    agent.presence = presence
    agent.reason = reason if presence == NOT_READY else None
    await refresh_state_in(
        s, agent, now=now, force_event=presence_changed, prev_reason=prev, reason_changed=True
    )
    if is_routable(agent):
        after_commit(s, routing_topic(agent.tenant_id), "agent")


# ---- public actions -----------------------------------------------------------------


@dataclass(frozen=True)
class AgentStatus:
    user_id: str
    state: str
    reason: str | None
    since: datetime
    presence: str
    login_at: datetime | None
    last_seq: int


def _status(agent: AgentSession) -> AgentStatus:
    return AgentStatus(
        user_id=agent.user_id,
        state=agent.state,
        reason=agent.reason if agent.state == NOT_READY else None,
        since=agent.state_since,
        presence=agent.presence,
        login_at=agent.login_at,
        last_seq=agent.last_seq,
    )


async def _check_reason(s: AsyncSession, tenant_id: str, reason: str | None) -> None:
    if reason is None:
        return
    found = (
        await s.execute(
            select(NotReadyReason.id).where(
                NotReadyReason.tenant_id == tenant_id, NotReadyReason.name == reason
            )
        )
    ).first()
    if found is None:
        raise Invalid(f"Unknown not-ready reason: {reason}")


async def start_session(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    state: str = NOT_READY,
    reason: str | None = None,
) -> AgentStatus:
    """Log the agent in (idempotent: a second desktop joins the same session)."""
    if state not in (READY, NOT_READY):
        raise Invalid("The initial state must be ready or not_ready")
    for attempt in range(3):
        try:
            return await _start_session(
                rt, tenant_id=tenant_id, user_id=user_id, state=state, reason=reason
            )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _start_session(
    rt: Runtime, *, tenant_id: str, user_id: str, state: str, reason: str | None
) -> AgentStatus:
    now = utcnow()
    async with rt.db.write() as s:
        await _check_reason(s, tenant_id, reason)
        user = await s.get(User, user_id)
        if user is None or user.tenant_id != tenant_id:
            raise NotFound("Agent not found")
        if Privilege.HANDLE_INTERACTIONS not in user.privileges:
            raise Forbidden("Privilege required: " + Privilege.HANDLE_INTERACTIONS)
        agent = await ensure_agent_in(s, tenant_id, user_id, now=now)
        await _apply_capacities(s, agent, user)
        first = agent.login_at is None
        if first:
            agent.login_at = now
            agent.logout_at = None
            agent.presence = state
            agent.reason = reason if state == NOT_READY else None
            agent.idle_since = now
        await refresh_state_in(s, agent, now=now, force_event=not first)
        if is_routable(agent):
            after_commit(s, routing_topic(tenant_id), "agent")
        return _status(agent)


async def end_session_in(s: AsyncSession, agent: AgentSession, *, now: datetime) -> AgentStatus:
    """Log the (locked) agent out. 409 while interactions are connected or in after-call
    work; the caller withdraws pending offers first."""
    if agent.login_at is None:
        raise Conflict("Agent is not logged in")
    loads = await loads_of(s, agent.user_id)
    if any(r.active or r.wrapup for r in loads.values()):
        raise Conflict("Finish, transfer or wrap up your interactions before logging out")
    agent.login_at = None
    agent.logout_at = now
    agent.presence = NOT_READY
    agent.reason = None
    await refresh_state_in(s, agent, now=now, force_event=True, loads=loads.values())
    return _status(agent)


async def set_state(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    state: str,
    reason: str | None = None,
    validate_reason: bool = True,
) -> AgentStatus:
    """The agent chooses ``ready`` or ``not_ready`` (with an optional reason from the
    tenant's list). While busy or in after-call work the choice becomes the next state.
    (Logging out withdraws offers: ``interactions.actions.logout``.)"""
    if state not in (READY, NOT_READY):
        raise Invalid("state must be ready or not_ready")
    if state == READY and reason is not None:
        raise Invalid("Only not_ready takes a reason")
    now = utcnow()
    async with rt.db.write() as s:
        if validate_reason:
            await _check_reason(s, tenant_id, reason)
        agent = await lock_agent(s, tenant_id, user_id)
        if agent is None or agent.login_at is None:
            raise Conflict("Agent is not logged in")
        if state == READY:
            user = await s.get(User, user_id)
            if user is not None:
                await _apply_capacities(s, agent, user)
        await set_presence_in(s, agent, state, reason, now=now)
        return _status(agent)


async def notify_agent(
    rt: Runtime, *, tenant_id: str, user_id: str, event: Mapping[str, Any]
) -> int:
    """Durably queue ``event`` (a JSON object with a string ``type``) for the agent's
    realtime channel; returns its sequence number (the channel's resume cursor)."""
    type_ = event.get("type")
    if not isinstance(type_, str) or not type_:
        raise Invalid("An agent event needs a string 'type'")
    payload = {k: v for k, v in event.items() if k != "type"}
    for attempt in range(3):
        try:
            async with rt.db.write() as s:
                agent = await ensure_agent_in(s, tenant_id, user_id, now=utcnow())
                return queue_event(s, agent, type_, payload)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _skill_levels(
    s: AsyncSession, user_ids: list[str], names: Iterable[str]
) -> dict[str, dict[str, int]]:
    wanted = list(names)
    out: dict[str, dict[str, int]] = {u: {} for u in user_ids}
    if not wanted or not user_ids:
        return out
    rows = await s.execute(
        select(UserSkill.user_id, Skill.name, UserSkill.level)
        .join(Skill, Skill.id == UserSkill.skill_id)
        .where(UserSkill.user_id.in_(user_ids), Skill.name.in_(wanted))
    )
    for uid, name, level in rows.all():
        out[uid][name] = level
    return out


async def claim_agent(
    rt: Runtime,
    *,
    tenant_id: str,
    media: str,
    required_skills: Mapping[str, int],
    exclude: Iterable[str] = frozenset(),
) -> str | None:
    """Atomically reserve one slot of ``media`` on a ready agent with free capacity and
    every required skill at its minimum level: best skill match, then longest idle.
    Returns the agent's user id, or None when nobody qualifies. Give the slot back with
    ``release_agent``. Safe across processes (row locks, ``SKIP LOCKED``)."""
    slot = slot_of(media)
    excluded = set(exclude)
    for _attempt in range(3):
        async with rt.db.read() as s:
            rows = (
                await s.execute(
                    select(AgentSession.user_id, AgentSession.idle_since)
                    .join(AgentLoad, AgentLoad.user_id == AgentSession.user_id)
                    .where(
                        AgentSession.tenant_id == tenant_id,
                        AgentSession.state.in_((READY, BUSY)),
                        AgentSession.presence == READY,
                        AgentLoad.media == slot,
                        AgentLoad.active + AgentLoad.wrapup < AgentLoad.capacity,
                    )
                )
            ).all()
            candidates = [(u, idle) for u, idle in rows if u not in excluded]
            levels = await _skill_levels(s, [u for u, _ in candidates], required_skills)
        ranked = []
        for uid, idle in candidates:
            have = levels.get(uid, {})
            if all(have.get(k, -1) >= v for k, v in required_skills.items()):
                ranked.append((-sum(have.get(k, 0) for k in required_skills), idle, uid))
        if not ranked:
            return None
        ranked.sort()
        now = utcnow()
        async with rt.db.write() as s:
            for _score, _idle, uid in ranked:
                agent = await lock_agent(s, tenant_id, uid, skip_locked=True)
                if agent is None or not is_routable(agent):
                    continue
                if not has_room((await loads_of(s, uid)).get(slot)):
                    continue
                await reserve_in(s, agent, slot, now=now)
                after_commit(s, agent_topic(uid), "")
                break
            else:
                uid = ""
        if uid:
            return uid
    return None


async def release_agent(
    rt: Runtime, *, tenant_id: str, user_id: str, media: str, wrap_up: bool = False
) -> None:
    """Give back a slot taken by ``claim_agent``; with ``wrap_up`` the slot moves to
    after-call work until ``finish_wrap_up``."""
    slot = slot_of(media)
    async with rt.db.write() as s:
        agent = await lock_agent(s, tenant_id, user_id)
        if agent is None:
            raise NotFound("Agent not found")
        await release_in(s, agent, slot, wrap_up=wrap_up)
        after_commit(s, agent_topic(user_id), "")


async def finish_wrap_up(rt: Runtime, *, tenant_id: str, user_id: str, media: str) -> None:
    """End after-call work begun by ``release_agent(..., wrap_up=True)``."""
    slot = slot_of(media)
    async with rt.db.write() as s:
        agent = await lock_agent(s, tenant_id, user_id)
        if agent is None:
            raise NotFound("Agent not found")
        await release_in(s, agent, slot, from_wrapup=True)
        after_commit(s, agent_topic(user_id), "")
