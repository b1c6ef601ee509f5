"""Computing one tenant's snapshot: a fixed number of indexed queries, whatever the
number of viewers (the engine runs this at most once per refresh interval per tenant).

Sources: ``services``, ``teams``/``team_supervisors``, ``users`` (roles, skills),
``agent_sessions`` and ``agent_state_log`` (states and time in state), ``chat_sessions``
(the queue: waiting now, arrivals, answers and abandons today), ``interactions`` and
``interaction_steps`` (handled, handling time, dispositions, active items) and
``team_messages``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.models import AgentSession, AgentStateChange
from switchboard.campaigns.service import outbound_totals_by
from switchboard.chats.models import ChatSession
from switchboard.interactions.models import CONNECTED, DONE, Interaction, InteractionStep
from switchboard.services.models import Service, Skill
from switchboard.stats.day import day_start
from switchboard.stats.models import TeamMessage
from switchboard.stats.series import Series, SeriesBuilder
from switchboard.stats.settings import StatsSettings
from switchboard.stats.snapshot import (
    LOGGED_OUT,
    TIMED_STATES,
    AgentStats,
    MessageRow,
    ServiceStats,
    Snapshot,
)
from switchboard.teams.models import Team, team_supervisors
from switchboard.tenants.models import Tenant
from switchboard.users.models import Privilege, Role, User, UserSkill, user_roles

WAITING_STATES = ("queued", "connecting")
ABANDONED = "abandoned"


def qualifies(skills: dict[str, int], required: dict[str, int]) -> bool:
    for name, minimum in required.items():
        level = skills.get(name)
        if level is None or level < int(minimum or 0):
            return False
    return True


def _seconds(a: datetime, b: datetime) -> float:
    return max(0.0, (b - a).total_seconds())


async def _services(s: AsyncSession, tenant_id: str) -> list[ServiceStats]:
    rows = await s.execute(
        select(
            Service.id,
            Service.name,
            Service.media,
            Service.enabled,
            Service.service_level_threshold_seconds,
            Service.service_level_target_percent,
            Service.short_abandon_seconds,
            Service.required_skills,
        )
        .where(Service.tenant_id == tenant_id)
        .order_by(Service.name)
    )
    return [
        ServiceStats(
            id=r[0],
            name=r[1],
            media=r[2],
            enabled=bool(r[3]),
            threshold=int(r[4] or 0),
            target=int(r[5] or 0),
            short_abandon=int(r[6] or 0),
            required_skills={str(k): int(v or 0) for k, v in (r[7] or {}).items()},
        )
        for r in rows.all()
    ]


async def _users(
    s: AsyncSession, tenant_id: str, teams: dict[str, str]
) -> tuple[list[AgentStats], dict[str, str | None]]:
    """Agents (users who may handle interactions) and every user's team."""
    users = (
        await s.execute(
            select(
                User.id,
                User.login_id,
                User.first_name,
                User.last_name,
                User.nickname,
                User.extension,
                User.team_id,
                User.disabled,
            ).where(User.tenant_id == tenant_id)
        )
    ).all()
    privileges: dict[str, set[str]] = {}
    for user_id, privs in (
        await s.execute(
            select(user_roles.c.user_id, Role.privileges)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(Role.tenant_id == tenant_id)
        )
    ).all():
        privileges.setdefault(user_id, set()).update(privs or [])
    skills: dict[str, dict[str, int]] = {}
    for user_id, name, level in (
        await s.execute(
            select(UserSkill.user_id, Skill.name, UserSkill.level)
            .join(Skill, Skill.id == UserSkill.skill_id)
            .where(Skill.tenant_id == tenant_id)
        )
    ).all():
        skills.setdefault(user_id, {})[name] = int(level)
    agents: list[AgentStats] = []
    user_team: dict[str, str | None] = {}
    for uid, login, first, last, nick, ext, team_id, disabled in users:
        user_team[uid] = team_id
        if disabled or Privilege.HANDLE_INTERACTIONS not in privileges.get(uid, ()):
            continue
        full = f"{first or ''} {last or ''}".strip()
        agents.append(
            AgentStats(
                user_id=uid,
                login_id=login,
                first_name=first or "",
                last_name=last or "",
                display_name=nick or full or login,
                extension=ext or "",
                team_id=team_id,
                team_name=teams.get(team_id or "", ""),
                skills=skills.get(uid, {}),
            )
        )
    agents.sort(key=lambda a: (a.display_name.lower(), a.login_id))
    return agents, user_team


def _add_period(
    agent: AgentStats, state: str, start: datetime, end: datetime | None, ds: datetime
) -> None:
    if state not in TIMED_STATES:
        return
    begin = max(start, ds)
    if end is None:
        agent.open_state, agent.open_since = state, begin
        return
    if end > begin:
        agent.closed[state] = agent.closed.get(state, 0.0) + _seconds(begin, end)


async def _agent_states(
    s: AsyncSession, tenant_id: str, agents: dict[str, AgentStats], ds: datetime
) -> None:
    sessions = (
        await s.execute(
            select(
                AgentSession.user_id,
                AgentSession.state,
                AgentSession.presence,
                AgentSession.reason,
                AgentSession.state_since,
                AgentSession.login_at,
            ).where(AgentSession.tenant_id == tenant_id)
        )
    ).all()
    for uid, state, presence, reason, since, login_at in sessions:
        agent = agents.get(uid)
        if agent is None:
            continue
        agent.has_session = True
        agent.state = state if login_at is not None else LOGGED_OUT
        agent.presence = presence
        agent.reason = reason
        agent.state_since = since
        agent.login_at = login_at
    log = AgentStateChange
    # the period each agent was in when the day began (index: user_id, started_at)
    previous = (
        select(log.id)
        .where(log.user_id == AgentSession.user_id, log.started_at < ds)
        .order_by(log.started_at.desc(), log.id.desc())
        .limit(1)
        .correlate(AgentSession)
        .scalar_subquery()
    )
    carried = select(previous).where(AgentSession.tenant_id == tenant_id)
    rows: Iterable[Any] = (
        await s.execute(
            select(log.user_id, log.state, log.started_at, log.ended_at).where(log.id.in_(carried))
        )
    ).all()
    for uid, state, started, ended in rows:
        agent = agents.get(uid)
        if agent is not None and (ended is None or ended > ds):
            _add_period(agent, state, started, ended, ds)
    # the periods that began today (index: tenant_id, started_at)
    rows = (
        await s.execute(
            select(log.user_id, log.state, log.started_at, log.ended_at).where(
                log.tenant_id == tenant_id, log.started_at >= ds
            )
        )
    ).all()
    for uid, state, started, ended in rows:
        agent = agents.get(uid)
        if agent is not None:
            _add_period(agent, state, started, ended, ds)


async def _queue(
    s: AsyncSession,
    tenant_id: str,
    services: dict[str, ServiceStats],
    ds: datetime,
    now: datetime,
    bucket_seconds: int,
) -> tuple[dict[str, Series], Series]:
    # waiting now (index: tenant_id, state, ...)
    for service_id, count, oldest in (
        await s.execute(
            select(ChatSession.service_id, func.count(), func.min(ChatSession.queued_at))
            .where(ChatSession.tenant_id == tenant_id, ChatSession.state.in_(WAITING_STATES))
            .group_by(ChatSession.service_id)
        )
    ).all():
        svc = services.get(service_id or "")
        if svc is not None:
            svc.waiting = int(count)
            svc.oldest_wait = oldest
    builders = {sid: SeriesBuilder(ds, now, bucket_seconds) for sid in services}
    everything = SeriesBuilder(ds, now, bucket_seconds)
    waiting_today: dict[str, int] = {}
    # arrivals of the day and what became of them
    rows = (
        await s.execute(
            select(
                ChatSession.service_id,
                ChatSession.state,
                ChatSession.created_at,
                ChatSession.queued_at,
                ChatSession.connected_at,
                ChatSession.ended_at,
                ChatSession.end_reason,
            ).where(ChatSession.tenant_id == tenant_id, ChatSession.created_at >= ds)
        )
    ).all()
    for service_id, state, created, queued, connected, ended, reason in rows:
        svc = services.get(service_id or "")
        if svc is None:
            continue
        curves = (builders[svc.id], everything)
        if state in WAITING_STATES:
            waiting_today[svc.id] = waiting_today.get(svc.id, 0) + 1
        svc.received += 1
        if queued is not None:
            svc.queued += 1
        if connected is not None:
            # a chat re-queued after it connected (a transfer) waited from its arrival
            start = queued if queued is not None and queued <= connected else created
            wait = _seconds(start, connected)
            svc.answered += 1
            svc.wait_sum += wait
            svc.wait_max = max(svc.wait_max, wait)
            within = wait <= svc.threshold
            if within:
                svc.answered_in_sl += 1
            for c in curves:
                c.waiting(start, connected)
                c.answer(connected, within)
        elif ended is not None and reason == ABANDONED:
            svc.abandoned_total += 1
            if queued is not None:
                svc.abandoned_in_queue += 1
                short = _seconds(queued, ended) < svc.short_abandon
                if short:
                    svc.short_abandoned += 1
                for c in curves:
                    c.waiting(queued, ended)
                    c.abandon(ended, short)
        elif queued is not None:
            for c in curves:
                c.waiting(queued, ended if state not in WAITING_STATES else None)
    for svc in services.values():
        carried = svc.waiting - waiting_today.get(svc.id, 0)
        builders[svc.id].carried(carried)
        everything.carried(carried)
    return {sid: b.build() for sid, b in builders.items()}, everything.build()


async def _work(
    s: AsyncSession,
    tenant_id: str,
    services: dict[str, ServiceStats],
    agents: dict[str, AgentStats],
    ds: datetime,
    since: datetime,
) -> None:
    """Handled interactions, handling time and dispositions of the day."""
    for service_id, direction, answered, completed, disposition in (
        await s.execute(
            select(
                Interaction.service_id,
                Interaction.direction,
                Interaction.answered_at,
                Interaction.completed_at,
                Interaction.disposition,
            ).where(
                Interaction.tenant_id == tenant_id,
                Interaction.created_at >= since,
                Interaction.answered_at.is_not(None),
                Interaction.completed_at >= ds,
            )
        )
    ).all():
        svc = services.get(service_id or "")
        if svc is None or answered is None or completed is None:
            continue
        if direction == "outbound":
            svc.handled_out += 1
        else:
            svc.handled_in += 1
        svc.handle_sum += _seconds(answered, completed)
        if disposition:
            svc.dispositions[disposition] += 1
    step = InteractionStep
    for user_id, direction, answered, completed, disposition in (
        await s.execute(
            select(
                step.user_id,
                Interaction.direction,
                step.answered_at,
                step.completed_at,
                step.disposition,
            )
            .join(Interaction, Interaction.id == step.interaction_id)
            .where(
                step.tenant_id == tenant_id,
                step.offered_at >= since,
                step.phase == DONE,
                step.answered_at.is_not(None),
                step.completed_at >= ds,
            )
        )
    ).all():
        agent = agents.get(user_id)
        if agent is None or answered is None or completed is None:
            continue
        if direction == "outbound":
            agent.handled_out += 1
        else:
            agent.handled_in += 1
        agent.handle_sum += _seconds(answered, completed)
        if disposition:
            agent.dispositions[disposition] += 1
    busy = [a.user_id for a in agents.values() if a.logged_in]
    if not busy:
        return
    # what connected agents are doing now (index: user_id, phase)
    for user_id, media, answered in (
        await s.execute(
            select(step.user_id, step.media, step.answered_at).where(
                step.user_id.in_(busy), step.phase == CONNECTED
            )
        )
    ).all():
        agent = agents.get(user_id)
        if agent is None:
            continue
        agent.active_items += 1
        if answered is not None and (agent.active_since is None or answered < agent.active_since):
            agent.active_since, agent.active_media = answered, media


async def _outbound(
    s: AsyncSession,
    tenant_id: str,
    services: dict[str, ServiceStats],
    agents: dict[str, AgentStats],
    ds: datetime,
) -> None:
    """Dialer attempts of the day (index: tenant_id, created_at)."""
    for service_id, totals in (
        await outbound_totals_by(session=s, tenant_id=tenant_id, since=ds, by="service")
    ).items():
        svc = services.get(service_id or "")
        if svc is not None:
            svc.out_dialed += totals.dialed
            svc.out_answered += totals.answered
            svc.out_handled += totals.handled
    for user_id, totals in (
        await outbound_totals_by(session=s, tenant_id=tenant_id, since=ds, by="agent")
    ).items():
        agent = agents.get(user_id or "")
        if agent is not None:
            agent.out_handled += totals.handled


async def _messages(s: AsyncSession, tenant_id: str, limit: int) -> list[MessageRow]:
    rows = (
        (
            await s.execute(
                select(TeamMessage)
                .where(TeamMessage.tenant_id == tenant_id)
                .order_by(TeamMessage.created_at.desc(), TeamMessage.id.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    return [
        MessageRow(
            id=m.id,
            login_id=m.sender_login_id,
            first_name=m.sender_first_name,
            last_name=m.sender_last_name,
            team_ids=frozenset(m.team_ids or ()),
            content=m.content,
            content_lower=m.content.lower(),
            is_urgent=bool(m.is_urgent),
            sent_at=m.created_at,
        )
        for m in rows
    ]


async def compute(
    s: AsyncSession, tenant_id: str, *, now: datetime, settings: StatsSettings
) -> Snapshot | None:
    """The tenant's snapshot at ``now`` (None when the tenant does not exist)."""
    started = _time.perf_counter()
    tenant = await s.get(Tenant, tenant_id)
    if tenant is None:
        return None
    ds = day_start(now, tenant.timezone, tenant.daily_reset_time)
    since = ds - timedelta(hours=settings.lookback_hours)
    services = await _services(s, tenant_id)
    teams = {
        tid: name
        for tid, name in (
            await s.execute(select(Team.id, Team.name).where(Team.tenant_id == tenant_id))
        ).all()
    }
    supervised: dict[str, set[str]] = {}
    for uid, tid in (
        await s.execute(
            select(team_supervisors.c.user_id, team_supervisors.c.team_id)
            .join(Team, Team.id == team_supervisors.c.team_id)
            .where(Team.tenant_id == tenant_id)
        )
    ).all():
        supervised.setdefault(uid, set()).add(tid)
    agents, user_team = await _users(s, tenant_id, teams)
    agents_by_id = {a.user_id: a for a in agents}
    services_by_id = {svc.id: svc for svc in services}
    await _agent_states(s, tenant_id, agents_by_id, ds)
    series, series_all = await _queue(
        s, tenant_id, services_by_id, ds, now, settings.chart_bucket_seconds
    )
    await _work(s, tenant_id, services_by_id, agents_by_id, ds, since)
    await _outbound(s, tenant_id, services_by_id, agents_by_id, ds)
    messages = await _messages(s, tenant_id, settings.messages_in_snapshot)
    for svc in services:
        if svc.required_skills:
            svc.agent_indexes = [
                i for i, a in enumerate(agents) if qualifies(a.skills, svc.required_skills)
            ]
        else:
            svc.agent_indexes = list(range(len(agents)))
    snap = Snapshot(
        tenant_id=tenant_id,
        computed_at=now,
        day_start=ds,
        services=services,
        agents=agents,
        teams=teams,
        supervised={k: frozenset(v) for k, v in supervised.items()},
        user_team=user_team,
        messages=messages,
        series=series,
        series_all=series_all,
    )
    snap.compute_seconds = _time.perf_counter() - started
    return snap
