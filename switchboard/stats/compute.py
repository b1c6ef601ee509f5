"""Computing one tenant's snapshot: a fixed number of indexed, aggregating queries,
whatever the number of viewers (the engine runs this at most once per refresh interval
per tenant).

The day's figures are summed by the database (``GROUP BY`` over the day's rows, durations
computed in SQL), so a refresh transfers a few rows per service and per agent rather than
the day's history. Sources: ``services``, ``teams``/``team_supervisors``, ``users``
(roles, skills), ``agent_sessions`` and ``agent_state_log`` (states and time in state),
``chat_sessions`` (the queue: waiting now, arrivals, answers and abandons today),
``interactions`` and ``interaction_steps`` (handled, handling time, dispositions, active
items), the dialer's attempts (``out_calls_*``) and ``team_messages``.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from switchboard.agents.models import AgentSession, AgentStateChange
from switchboard.campaigns.service import outbound_totals_by
from switchboard.chats.models import ChatSession
from switchboard.interactions.models import CONNECTED, DONE, Interaction, InteractionStep
from switchboard.services.models import Service, Skill
from switchboard.stats.day import day_start
from switchboard.stats.models import TeamMessage
from switchboard.stats.series import Series, build_series
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
UNIX_EPOCH_JULIAN = 2440587.5


def _seconds(a: datetime, b: datetime) -> float:
    return max(0.0, (b - a).total_seconds())


class _Sql:
    """Portable SQL for durations: seconds since 1970 of a timestamp column."""

    def __init__(self, session: AsyncSession) -> None:
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def epoch(self, col: Any) -> ColumnElement[float]:
        if self.sqlite:
            # SQLite keeps UTC timestamps as ISO text: julianday() reads them
            return cast((func.julianday(col) - UNIX_EPOCH_JULIAN) * 86400.0, Float)
        return cast(extract("epoch", col), Float)

    def between(self, start: Any, end: Any) -> ColumnElement[float]:
        return self.epoch(end) - self.epoch(start)

    def floor(self, value: ColumnElement[Any]) -> ColumnElement[int]:
        # the values are never negative: SQLite's CAST truncates, PostgreSQL's rounds
        if self.sqlite:
            return cast(value, Integer)
        return cast(func.floor(value), Integer)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# ---- configuration: services, teams, agents ------------------------------------------


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


# ---- agents: state now and time per state today ----------------------------------------


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
    s: AsyncSession, sql: _Sql, tenant_id: str, agents: dict[str, AgentStats], ds: datetime
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
    for uid, state, started, ended in (
        await s.execute(
            select(log.user_id, log.state, log.started_at, log.ended_at).where(log.id.in_(carried))
        )
    ).all():
        agent = agents.get(uid)
        if agent is not None and (ended is None or ended > ds):
            _add_period(agent, state, started, ended, ds)
    # the periods that began today, summed by the database (index: tenant_id, started_at)
    for uid, state, seconds in (
        await s.execute(
            select(log.user_id, log.state, func.sum(sql.between(log.started_at, log.ended_at)))
            .where(log.tenant_id == tenant_id, log.started_at >= ds, log.ended_at.is_not(None))
            .group_by(log.user_id, log.state)
        )
    ).all():
        agent = agents.get(uid)
        if agent is not None and state in TIMED_STATES:
            agent.closed[state] = agent.closed.get(state, 0.0) + max(0.0, float(seconds or 0))
    for uid, state, started in (
        await s.execute(
            select(log.user_id, log.state, log.started_at).where(
                log.tenant_id == tenant_id, log.started_at >= ds, log.ended_at.is_(None)
            )
        )
    ).all():
        agent = agents.get(uid)
        if agent is not None:
            _add_period(agent, state, started, None, ds)


# ---- the queue -------------------------------------------------------------------------


def _wait_start(c: type[ChatSession] = ChatSession) -> Any:
    # a chat re-queued after it connected (a transfer) waited from its arrival
    return case(
        (and_(c.queued_at.is_not(None), c.queued_at <= c.connected_at), c.queued_at),
        else_=c.created_at,
    )


async def _waiting(s: AsyncSession, tenant_id: str, services: dict[str, ServiceStats]) -> None:
    """Interactions waiting now (index: tenant_id, state, ...)."""
    c = ChatSession
    for service_id, count, oldest in (
        await s.execute(
            select(c.service_id, func.count(), func.min(c.queued_at))
            .where(c.tenant_id == tenant_id, c.state.in_(WAITING_STATES))
            .group_by(c.service_id)
        )
    ).all():
        svc = services.get(service_id or "")
        if svc is not None:
            svc.waiting = int(count)
            svc.oldest_wait = oldest


@dataclass
class Fold:
    """The day's figures of records that can no longer change, summed once.

    Chats that ended, interactions and agents' parts that were completed more than
    ``fold_margin_seconds`` ago are added here exactly once (the next refresh only reads records
    still open or finished after ``watermark``), so a refresh costs what changed, not
    the whole day."""

    day_start: datetime
    signature: tuple[tuple[str, int, int], ...]
    watermark: datetime | None = None
    chats: dict[str, list[float]] = field(default_factory=dict)
    service_work: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    service_dispositions: dict[tuple[str, str], int] = field(default_factory=dict)
    agent_work: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    agent_dispositions: dict[tuple[str, str], int] = field(default_factory=dict)

    def copy(self) -> Fold:
        return Fold(
            day_start=self.day_start,
            signature=self.signature,
            watermark=self.watermark,
            chats={k: list(v) for k, v in self.chats.items()},
            service_work={k: list(v) for k, v in self.service_work.items()},
            service_dispositions=dict(self.service_dispositions),
            agent_work={k: list(v) for k, v in self.agent_work.items()},
            agent_dispositions=dict(self.agent_dispositions),
        )


CHAT_FIELDS = 9  # received, queued, answered, in_sl, wait_sum, wait_max, abandoned x3


def _merge_chat(into: list[float], row: list[float]) -> None:
    for k in range(CHAT_FIELDS):
        into[k] = max(into[k], row[k]) if k == 5 else into[k] + row[k]


def _final(fold_before: datetime, col: Any) -> ColumnElement[int]:
    return case((and_(col.is_not(None), col < fold_before), 1), else_=0)


async def _queue(
    s: AsyncSession,
    sql: _Sql,
    tenant_id: str,
    services: dict[str, ServiceStats],
    ds: datetime,
    fold: Fold,
    fold_before: datetime,
) -> None:
    c = ChatSession
    # the day's arrivals and what became of them, one row per service (and per "final")
    wait = sql.between(_wait_start(), c.connected_at)
    answered = c.connected_at.is_not(None)
    abandoned = and_(c.connected_at.is_(None), c.ended_at.is_not(None), c.end_reason == ABANDONED)
    in_queue = and_(abandoned, c.queued_at.is_not(None))
    final = _final(fold_before, c.ended_at)
    conds = [c.tenant_id == tenant_id, c.created_at >= ds]
    if fold.watermark is not None:
        conds.append(or_(c.ended_at.is_(None), c.ended_at >= fold.watermark))
    stmt = (
        select(
            c.service_id,
            final,
            func.count(),
            _flag(c.queued_at.is_not(None)),
            _flag(answered),
            _flag(and_(answered, wait <= Service.service_level_threshold_seconds)),
            func.coalesce(func.sum(case((answered, wait), else_=0.0)), 0.0),
            func.coalesce(func.max(case((answered, wait), else_=None)), 0.0),
            _flag(abandoned),
            _flag(in_queue),
            _flag(
                and_(
                    in_queue,
                    sql.between(c.queued_at, c.ended_at) < Service.short_abandon_seconds,
                )
            ),
        )
        .join(Service, Service.id == c.service_id)
        .where(*conds)
        .group_by(c.service_id, final)
    )
    totals = {sid: list(v) for sid, v in fold.chats.items()}
    for row in (await s.execute(stmt)).all():
        sid = row[0]
        if sid is None:
            continue
        values = [max(0.0, float(v or 0)) for v in row[2:]]
        _merge_chat(totals.setdefault(sid, [0.0] * CHAT_FIELDS), values)
        if row[1]:
            _merge_chat(fold.chats.setdefault(sid, [0.0] * CHAT_FIELDS), values)
    for sid, v in totals.items():
        svc = services.get(sid)
        if svc is None:
            continue
        svc.received, svc.queued, svc.answered, svc.answered_in_sl = (int(x) for x in v[:4])
        svc.wait_sum, svc.wait_max = v[4], v[5]
        svc.abandoned_total, svc.abandoned_in_queue, svc.short_abandoned = (int(x) for x in v[6:])


async def _series(
    s: AsyncSession,
    sql: _Sql,
    tenant_id: str,
    services: dict[str, ServiceStats],
    ds: datetime,
    now: datetime,
    bucket: int,
) -> tuple[dict[str, Series], Series]:
    """Queue length per bucket (a running sum over the day's queue entries and exits, by
    window function) and the answers/abandons per bucket, per service and in total."""
    c = ChatSession
    origin = ds.timestamp()
    today = and_(c.tenant_id == tenant_id, c.created_at >= ds, c.queued_at.is_not(None))
    start = case(
        (and_(c.connected_at.is_not(None), c.queued_at > c.connected_at), c.created_at),
        else_=c.queued_at,
    )
    leave = func.coalesce(c.connected_at, c.ended_at)
    rows: dict[str | None, list[tuple[int, int, int]]] = {}
    for partitioned in (True, False):
        key = c.service_id if partitioned else literal("")
        events = union_all(
            select(
                key.label("k"), (sql.epoch(start) - origin).label("t"), literal(1).label("d")
            ).where(today),
            select(
                key.label("k"), (sql.epoch(leave) - origin).label("t"), literal(-1).label("d")
            ).where(today, leave.is_not(None)),
        ).subquery()
        window = func.sum(events.c.d).over(
            partition_by=events.c.k, order_by=(events.c.t, events.c.d)
        )
        offset = func.max(events.c.t, 0.0) if sql.sqlite else func.greatest(events.c.t, 0.0)
        levels = select(
            events.c.k.label("k"),
            sql.floor(offset / float(bucket)).label("b"),
            window.label("level"),
            events.c.d.label("d"),
        ).subquery()
        for k, b, peak, net in (
            await s.execute(
                select(
                    levels.c.k, levels.c.b, func.max(levels.c.level), func.sum(levels.c.d)
                ).group_by(levels.c.k, levels.c.b)
            )
        ).all():
            name = (k or None) if partitioned else ""
            rows.setdefault(name, []).append((int(b), int(peak or 0), int(net or 0)))
    answers: dict[str | None, list[tuple[int, int, int, int, int]]] = {}
    wait = sql.between(_wait_start(), c.connected_at)
    answered_b = sql.floor((sql.epoch(c.connected_at) - origin) / float(bucket))
    abandoned_b = sql.floor((sql.epoch(c.ended_at) - origin) / float(bucket))
    for stmt in (
        select(
            c.service_id,
            answered_b,
            func.count(),
            _flag(wait <= Service.service_level_threshold_seconds),
            literal(0),
            literal(0),
        )
        .join(Service, Service.id == c.service_id)
        .where(today, c.connected_at.is_not(None))
        .group_by(c.service_id, answered_b),
        select(
            c.service_id,
            abandoned_b,
            literal(0),
            literal(0),
            func.count(),
            _flag(sql.between(c.queued_at, c.ended_at) < Service.short_abandon_seconds),
        )
        .join(Service, Service.id == c.service_id)
        .where(
            today,
            c.connected_at.is_(None),
            c.ended_at.is_not(None),
            c.end_reason == ABANDONED,
        )
        .group_by(c.service_id, abandoned_b),
    ):
        for sid, b, n_answered, n_sl, n_abandoned, n_short in (await s.execute(stmt)).all():
            item = (int(b), int(n_answered), int(n_sl), int(n_abandoned), int(n_short))
            answers.setdefault(sid, []).append(item)
            answers.setdefault("", []).append(item)
    carried = {
        sid: max(0, svc.waiting - _waiting_today(rows.get(sid, [])))
        for sid, svc in services.items()
    }
    per_service = {
        sid: build_series(ds, now, bucket, rows.get(sid, []), answers.get(sid, []), carried[sid])
        for sid in services
    }
    total = build_series(
        ds, now, bucket, rows.get("", []), answers.get("", []), sum(carried.values())
    )
    return per_service, total


SERVICE_DAY_FIELDS = (
    "received",
    "queued",
    "answered",
    "answered_in_sl",
    "abandoned_in_queue",
    "short_abandoned",
    "abandoned_total",
    "wait_sum",
    "wait_max",
    "handled_in",
    "handled_out",
    "handle_sum",
    "dispositions",
    "out_dialed",
    "out_answered",
    "out_handled",
)
AGENT_DAY_FIELDS = ("handled_in", "handled_out", "handle_sum", "dispositions", "out_handled")


def _copy_day(
    previous: Snapshot, services: dict[str, ServiceStats], agents: dict[str, AgentStats]
) -> None:
    """Reuse the day's counters of the previous snapshot (within ``day_refresh_seconds``)."""
    for svc in previous.services:
        target = services.get(svc.id)
        if target is not None:
            for name in SERVICE_DAY_FIELDS:
                setattr(target, name, getattr(svc, name))
    for agent in previous.agents:
        found = agents.get(agent.user_id)
        if found is not None:
            for name in AGENT_DAY_FIELDS:
                setattr(found, name, getattr(agent, name))


def _waiting_today(rows: list[tuple[int, int, int]]) -> int:
    """Entries minus exits of the day: today's arrivals still waiting."""
    return sum(net for _b, _peak, net in rows)


# ---- handled work, dispositions, what agents do now --------------------------------------


async def _sum_work(
    s: AsyncSession,
    key: Any,
    stmt_from: Any,
    where: ColumnElement[bool],
    answered: Any,
    completed: Any,
    disposition: Any,
    sql: _Sql,
    fold_before: datetime,
    work_base: dict[tuple[str, str], list[float]],
    disp_base: dict[tuple[str, str], int],
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], int]]:
    """One scan: count and handling time by (key, direction), dispositions by (key,
    disposition); records completed before ``fold_before`` are added to the bases."""
    final = _final(fold_before, completed)
    stmt = (
        select(
            key,
            Interaction.direction,
            disposition,
            final,
            func.count(),
            func.sum(sql.between(answered, completed)),
        )
        .select_from(stmt_from)
        .where(where)
        .group_by(key, Interaction.direction, disposition, final)
    )
    work = {k: list(v) for k, v in work_base.items()}
    disps = dict(disp_base)
    for owner, direction, disp, is_final, count, seconds in (await s.execute(stmt)).all():
        if owner is None:
            continue
        wkey = (owner, direction or "inbound")
        add = [float(count), max(0.0, float(seconds or 0.0))]
        _add(work, wkey, add)
        if is_final:
            _add(work_base, wkey, add)
        if disp:
            dkey = (owner, disp)
            disps[dkey] = disps.get(dkey, 0) + int(count)
            if is_final:
                disp_base[dkey] = disp_base.get(dkey, 0) + int(count)
    return work, disps


async def _work(
    s: AsyncSession,
    sql: _Sql,
    tenant_id: str,
    services: dict[str, ServiceStats],
    agents: dict[str, AgentStats],
    ds: datetime,
    since: datetime,
    fold: Fold,
    fold_before: datetime,
) -> None:
    """Handled interactions, handling time and dispositions of the day."""
    i = Interaction
    start = ds if fold.watermark is None else max(ds, fold.watermark)
    work, disps = await _sum_work(
        s,
        i.service_id,
        i,
        and_(
            i.tenant_id == tenant_id,
            i.created_at >= since,
            i.answered_at.is_not(None),
            i.completed_at >= start,
        ),
        i.answered_at,
        i.completed_at,
        i.disposition,
        sql,
        fold_before,
        fold.service_work,
        fold.service_dispositions,
    )
    for (service_id, direction), (n, secs) in work.items():
        svc = services.get(service_id)
        if svc is None:
            continue
        if direction == "outbound":
            svc.handled_out += int(n)
        else:
            svc.handled_in += int(n)
        svc.handle_sum += secs
    for (service_id, disposition), count in disps.items():
        svc = services.get(service_id)
        if svc is not None:
            svc.dispositions[disposition] += count
    st = InteractionStep
    parts, disps = await _sum_work(
        s,
        st.user_id,
        st.__table__.join(i.__table__, i.id == st.interaction_id),
        and_(
            st.tenant_id == tenant_id,
            st.offered_at >= since,
            st.phase == DONE,
            st.answered_at.is_not(None),
            st.completed_at >= start,
        ),
        st.answered_at,
        st.completed_at,
        st.disposition,
        sql,
        fold_before,
        fold.agent_work,
        fold.agent_dispositions,
    )
    for (user_id, direction), (n, secs) in parts.items():
        agent = agents.get(user_id)
        if agent is None:
            continue
        if direction == "outbound":
            agent.handled_out += int(n)
        else:
            agent.handled_in += int(n)
        agent.handle_sum += secs
    for (user_id, disposition), count in disps.items():
        agent = agents.get(user_id)
        if agent is not None:
            agent.dispositions[disposition] += count


def _add(into: dict[tuple[str, str], list[float]], key: tuple[str, str], add: list[float]) -> None:
    have = into.setdefault(key, [0.0, 0.0])
    have[0] += add[0]
    have[1] += add[1]


async def _active(s: AsyncSession, agents: dict[str, AgentStats]) -> None:
    """What connected agents are doing now (index: user_id, phase)."""
    st = InteractionStep
    busy = [a.user_id for a in agents.values() if a.logged_in]
    if not busy:
        return
    # what connected agents are doing now (index: user_id, phase)
    for user_id, media, answered, service_id in (
        await s.execute(
            select(st.user_id, st.media, st.answered_at, Interaction.service_id)
            .join(Interaction, Interaction.id == st.interaction_id)
            .where(st.user_id.in_(busy), st.phase == CONNECTED)
        )
    ).all():
        agent = agents.get(user_id)
        if agent is None:
            continue
        agent.active_items += 1
        if service_id:
            agent.active_services.add(service_id)
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


@dataclass
class Config:
    """The tenant's configuration as statistics see it (reloaded every
    ``day_refresh_seconds``): services, teams, supervisors, agents and who can take what."""

    loaded_at: datetime
    services: list[ServiceStats]
    agents: list[AgentStats]
    teams: dict[str, str]
    supervised: dict[str, frozenset[str]]
    user_team: dict[str, str | None]


def _qualified(agents: list[AgentStats], required: dict[str, int]) -> list[int]:
    if not required:
        return list(range(len(agents)))
    able: set[int] | None = None
    for name, minimum in required.items():
        have = {i for i, a in enumerate(agents) if a.skills.get(name, -1) >= int(minimum or 0)}
        able = have if able is None else able & have
        if not able:
            return []
    return sorted(able or ())


async def _config(s: AsyncSession, tenant_id: str, now: datetime) -> Config:
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
    for svc in services:
        svc.agent_indexes = _qualified(agents, svc.required_skills)
    return Config(
        loaded_at=now,
        services=services,
        agents=agents,
        teams=teams,
        supervised={k: frozenset(v) for k, v in supervised.items()},
        user_team=user_team,
    )


def _fresh_service(t: ServiceStats) -> ServiceStats:
    return ServiceStats(
        id=t.id,
        name=t.name,
        media=t.media,
        enabled=t.enabled,
        threshold=t.threshold,
        target=t.target,
        short_abandon=t.short_abandon,
        required_skills=t.required_skills,
        agent_indexes=t.agent_indexes,
    )


def _fresh_agent(t: AgentStats) -> AgentStats:
    return AgentStats(
        user_id=t.user_id,
        login_id=t.login_id,
        first_name=t.first_name,
        last_name=t.last_name,
        display_name=t.display_name,
        extension=t.extension,
        team_id=t.team_id,
        team_name=t.team_name,
        skills=t.skills,
    )


async def compute(
    s: AsyncSession,
    tenant_id: str,
    *,
    now: datetime,
    settings: StatsSettings,
    previous: Snapshot | None = None,
) -> Snapshot | None:
    """The tenant's snapshot at ``now`` (None when the tenant does not exist).

    States, queues and what agents do now are read every time; the configuration and the
    day's counters are reused from ``previous`` for ``day_refresh_seconds``, the chart for
    ``chart_refresh_seconds``."""
    started = _time.perf_counter()
    tenant = await s.get(Tenant, tenant_id)
    if tenant is None:
        return None
    sql = _Sql(s)
    ds = day_start(now, tenant.timezone, tenant.daily_reset_time)
    since = ds - timedelta(hours=settings.lookback_hours)
    same_day = previous is not None and previous.day_start == ds
    recent = (
        previous is not None
        and same_day
        and (now - previous.day_at).total_seconds() < settings.day_refresh_seconds
    )
    if previous is not None and recent and previous.config is not None:
        config = previous.config
    else:
        config = await _config(s, tenant_id, now)
    services = [_fresh_service(t) for t in config.services]
    agents = [_fresh_agent(t) for t in config.agents]
    agents_by_id = {a.user_id: a for a in agents}
    services_by_id = {svc.id: svc for svc in services}
    await _agent_states(s, sql, tenant_id, agents_by_id, ds)
    await _waiting(s, tenant_id, services_by_id)
    await _active(s, agents_by_id)
    messages = await _messages(s, tenant_id, settings.messages_in_snapshot)
    fold = previous.fold if previous is not None else None
    if previous is not None and recent:
        _copy_day(previous, services_by_id, agents_by_id)
        day_at = previous.day_at
    else:
        signature = tuple((t.id, t.threshold, t.short_abandon) for t in config.services)
        old = previous.fold if previous is not None else None
        if isinstance(old, Fold) and old.day_start == ds and old.signature == signature:
            fold = old.copy()
        else:
            fold = Fold(day_start=ds, signature=signature)
        fold_before = now - timedelta(seconds=settings.fold_margin_seconds)
        await _queue(s, sql, tenant_id, services_by_id, ds, fold, fold_before)
        await _work(s, sql, tenant_id, services_by_id, agents_by_id, ds, since, fold, fold_before)
        await _outbound(s, tenant_id, services_by_id, agents_by_id, ds)
        fold.watermark = fold_before
        day_at = now
    if (
        previous is not None
        and same_day
        and previous.series_all is not None
        and set(previous.series) == set(services_by_id)
        and (now - previous.series_at).total_seconds() < settings.chart_refresh_seconds
    ):
        series, series_all, series_at = previous.series, previous.series_all, previous.series_at
    else:
        series, series_all = await _series(
            s, sql, tenant_id, services_by_id, ds, now, settings.chart_bucket_seconds
        )
        series_at = now
    snap = Snapshot(
        tenant_id=tenant_id,
        computed_at=now,
        day_start=ds,
        services=services,
        agents=agents,
        teams=config.teams,
        supervised=config.supervised,
        user_team=config.user_team,
        messages=messages,
        series=series,
        series_all=series_all,
        series_at=series_at,
        day_at=day_at,
        config=config,
        fold=fold,
    )
    snap.compute_seconds = _time.perf_counter() - started
    return snap
