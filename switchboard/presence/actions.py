"""Desktop presence: an agent whose realtime sockets all closed (the browser was closed,
the laptop went to sleep, the network dropped) and who does not reconnect within
``agent_disconnect_grace_seconds`` is made not ready with the reason
``agent_disconnect_reason`` ("Disconnected"); after ``agent_disconnect_logout_seconds``
they are logged out (their pending offers withdrawn, ``interactions.actions.logout``).

Sockets are counted in ``agent_presence`` by the processes that hold them (the realtime
channel calls ``opened`` and ``closed``). Each process refreshes the lease of the
agents it holds sockets of (``refresh``), so the sockets of a process that crashed
count as gone once their lease (``agent_presence_lease_seconds``) runs out.

Only agents who opened a socket during their current login are watched: a client of
the REST API alone (a CRM integration, a bot) is never made not ready by this.
``run_pass`` does what is due and returns when the next thing is due; the worker
(``presence.workers``) sleeps until then or until a socket closes in its process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents import actions as agents
from switchboard.agents.models import NOT_READY, AgentSession
from switchboard.core.alarms import alarm
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict
from switchboard.core.runtime import Runtime
from switchboard.presence.models import AgentPresence

ALARM = "agent-presence"


def local_sockets(rt: Runtime) -> Counter[tuple[str, str]]:
    """(tenant id, user id) -> sockets open in this process."""
    key = "presence:sockets"
    found = rt.providers.get(key)
    if isinstance(found, Counter):
        return found
    made: Counter[tuple[str, str]] = Counter()
    rt.providers[key] = made
    return made


def _backoff(rt: Runtime) -> dict[str, datetime]:
    """Agents whose logout was refused (still busy): when to try again."""
    key = "presence:backoff"
    found = rt.providers.get(key)
    if isinstance(found, dict):
        return found
    made: dict[str, datetime] = {}
    rt.providers[key] = made
    return made


def _lease(rt: Runtime) -> timedelta:
    return timedelta(seconds=max(1.0, rt.settings.agent_presence_lease_seconds))


async def opened(rt: Runtime, *, tenant_id: str, user_id: str) -> None:
    """A realtime socket of the agent opened (it counts from now on)."""
    local_sockets(rt)[(tenant_id, user_id)] += 1
    for attempt in range(3):
        now = utcnow()
        try:
            async with rt.db.write() as s:
                row = (
                    await s.execute(
                        select(AgentPresence)
                        .where(AgentPresence.user_id == user_id)
                        .with_for_update()
                    )
                ).scalar_one_or_none()
                if row is None:
                    s.add(
                        AgentPresence(user_id=user_id, tenant_id=tenant_id, sockets=1, seen_at=now)
                    )
                else:
                    stale = row.sockets > 0 and row.seen_at + _lease(rt) <= now
                    row.sockets = 1 if stale else max(0, row.sockets) + 1
                    row.seen_at = now
                    row.gone_at = None
            return
        except IntegrityError:
            if attempt == 2:
                raise


async def closed(rt: Runtime, *, tenant_id: str, user_id: str) -> None:
    """A realtime socket of the agent closed; the last one starts the grace period."""
    mine = local_sockets(rt)
    mine[(tenant_id, user_id)] -= 1
    if mine[(tenant_id, user_id)] <= 0:
        del mine[(tenant_id, user_id)]
    now = utcnow()
    async with rt.db.write() as s:
        row = (
            await s.execute(
                select(AgentPresence).where(AgentPresence.user_id == user_id).with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            return
        row.sockets = max(0, row.sockets - 1)
        row.seen_at = now
        if row.sockets == 0:
            row.gone_at = now
    if row.sockets == 0:
        alarm(rt, ALARM).hint(now + timedelta(seconds=rt.settings.agent_disconnect_grace_seconds))


async def refresh(rt: Runtime) -> int:
    """Renew the lease of every agent with a socket open in this process."""
    users = sorted({u for (_t, u) in local_sockets(rt)})
    if not users:
        return 0
    async with rt.db.write() as s:
        await s.execute(
            update(AgentPresence)
            .where(AgentPresence.user_id.in_(users), AgentPresence.sockets > 0)
            .values(seen_at=utcnow())
        )
    return len(users)


@dataclass(frozen=True)
class _Watched:
    tenant_id: str
    user_id: str
    gone: datetime | None  # when the desktop was last seen, if it is gone
    lease_ends: datetime | None  # when the sockets' lease runs out, if one is open
    disconnected: bool  # already not ready for being disconnected


async def _watched(rt: Runtime, now: datetime) -> list[_Watched]:
    reason = rt.settings.agent_disconnect_reason
    async with rt.db.read() as s:
        rows = (
            await s.execute(
                select(
                    AgentPresence.tenant_id,
                    AgentPresence.user_id,
                    AgentPresence.sockets,
                    AgentPresence.seen_at,
                    AgentPresence.gone_at,
                    AgentSession.login_at,
                    AgentSession.presence,
                    AgentSession.reason,
                )
                .join(AgentSession, AgentSession.user_id == AgentPresence.user_id)
                .where(AgentSession.login_at.is_not(None))
            )
        ).all()
    out = []
    lease = _lease(rt)
    for tenant_id, user_id, sockets, seen_at, gone_at, login_at, presence, why in rows:
        if sockets > 0:
            ends = seen_at + lease
            gone, lease_ends = (seen_at if ends <= now else None), ends
        else:
            gone, lease_ends = gone_at, None
        if gone is not None and login_at is not None and gone < login_at:
            # the desktop went away before this login: not watched (an API client)
            if lease_ends is None:
                continue
            gone = None
        out.append(
            _Watched(
                tenant_id,
                user_id,
                gone,
                lease_ends,
                presence == NOT_READY and why == reason,
            )
        )
    return out


async def _make_not_ready(rt: Runtime, w: _Watched, now: datetime) -> bool:
    """One transaction: under the agent's lock, re-check that the desktop is still gone
    and make the agent not ready (a busy agent: next state not ready, no new offers)."""
    reason = rt.settings.agent_disconnect_reason
    async with rt.db.write() as s:
        agent = await agents.lock_agent(s, w.tenant_id, w.user_id)
        if agent is None or agent.login_at is None:
            return False
        row = await s.get(AgentPresence, w.user_id, populate_existing=True)
        if row is None or (row.sockets > 0 and row.seen_at + _lease(rt) > now):
            return False  # it came back
        if agent.presence == NOT_READY and agent.reason == reason:
            return False
        await agents.set_presence_in(s, agent, NOT_READY, reason, now=now)
        return True


async def _log_out(rt: Runtime, w: _Watched, now: datetime) -> bool:
    """One transaction: the logout re-checks, under the agent's lock, that the desktop
    is still gone (an agent who reconnected a moment ago stays logged in)."""
    from switchboard.interactions import actions as interactions

    async def still_gone(s: AsyncSession, at: datetime) -> bool:
        row = await s.get(AgentPresence, w.user_id, populate_existing=True)
        return row is not None and not (row.sockets > 0 and row.seen_at + _lease(rt) > now)

    try:
        status = await interactions.logout(
            rt, tenant_id=w.tenant_id, user_id=w.user_id, only_if=still_gone
        )
    except Conflict:
        # still handling interactions (or already logged out): look again later
        _backoff(rt)[w.user_id] = now + timedelta(
            seconds=max(60.0, rt.settings.agent_disconnect_logout_seconds)
        )
        return False
    if status is None:
        return False  # it came back
    _backoff(rt).pop(w.user_id, None)
    return True


async def run_pass(rt: Runtime) -> tuple[int, datetime | None]:
    """Make not ready and log out the agents whose desktop is gone long enough; return
    how many changed and when the next one is due (None: nothing watched)."""
    now = utcnow()
    grace = rt.settings.agent_disconnect_grace_seconds
    logout_after = rt.settings.agent_disconnect_logout_seconds
    backoff = _backoff(rt)
    changed = 0
    due: datetime | None = None

    def later(at: datetime) -> None:
        nonlocal due
        if due is None or at < due:
            due = at

    for w in await _watched(rt, now):
        if w.gone is None:
            if w.lease_ends is not None:
                later(w.lease_ends)
            continue
        if grace > 0 and not w.disconnected:
            at = w.gone + timedelta(seconds=grace)
            if at <= now:
                changed += await _make_not_ready(rt, w, now)
            else:
                later(at)
        if logout_after > 0:
            at = max(w.gone + timedelta(seconds=logout_after), backoff.get(w.user_id, now))
            if at <= now:
                changed += await _log_out(rt, w, now)
                if w.user_id in backoff:
                    later(backoff[w.user_id])
            else:
                later(at)
    return changed, due
