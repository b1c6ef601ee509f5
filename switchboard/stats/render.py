"""Rendering one subscription's data from a tenant snapshot (no database access).

Every value is a string; a value that cannot be computed is ``""``. Counts and durations
are whole numbers (durations in seconds, floored; averages and percentages rounded half
up).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.stats import definition as d
from switchboard.stats.snapshot import (
    ACW,
    BUSY,
    LOGGED_OUT,
    NOT_READY,
    READY,
    AgentStats,
    ServiceStats,
    Snapshot,
)
from switchboard.users.models import Privilege

Row = dict[str, str]


@dataclass(frozen=True)
class Viewer:
    user_id: str
    privileges: frozenset[str]


def _int(value: float | int) -> str:
    return str(int(value))


def _round(value: float) -> str:
    return str(math.floor(value + 0.5))


def _secs(start: datetime | None, now: datetime) -> str:
    if start is None:
        return ""
    return _int(max(0.0, (now - start).total_seconds()))


def _avg(total: float, n: int) -> str:
    return _round(total / n) if n else ""


def _pct(num: int, den: int) -> str:
    return _round(100.0 * num / den) if den > 0 else ""


def _dispositions(counter: Counter[str], names: Sequence[str] | None) -> str:
    if not names:
        return _int(sum(counter.values()))
    return _int(sum(counter.get(n, 0) for n in set(names)))


# ---- services and totals -------------------------------------------------------------


@dataclass
class ServiceGroup:
    """One service, or several summed (totals)."""

    services: list[ServiceStats]
    agents: list[AgentStats]

    def total(self, attr: str) -> int:
        return sum(int(getattr(s, attr)) for s in self.services)

    def total_f(self, attr: str) -> float:
        return sum(float(getattr(s, attr)) for s in self.services)

    def same(self, attr: str) -> str:
        values = {getattr(s, attr) for s in self.services}
        return _int(values.pop()) if len(values) == 1 else ""

    def count_state(self, state: str) -> str:
        return _int(sum(1 for a in self.agents if a.state == state))

    def count_busy(self) -> str:
        """Busy agents; for one service, only those busy with its work."""
        if len(self.services) != 1:
            return self.count_state(BUSY)
        sid = self.services[0].id
        return _int(sum(1 for a in self.agents if a.state == BUSY and sid in a.active_services))


def _oldest(group: ServiceGroup) -> datetime | None:
    starts = [s.oldest_wait for s in group.services if s.waiting and s.oldest_wait is not None]
    return min(starts) if starts else None


def service_value(
    name: str, group: ServiceGroup, now: datetime, dispositions: Sequence[str] | None
) -> str:
    fn = _SERVICE.get(name)
    if fn is None:
        return ""
    return fn(group, now, dispositions)


def _single(attr: str) -> Callable[[ServiceGroup, datetime, Sequence[str] | None], str]:
    def get(g: ServiceGroup, _now: datetime, _d: Sequence[str] | None) -> str:
        return str(getattr(g.services[0], attr)) if len(g.services) == 1 else ""

    return get


def _count(attr: str) -> Callable[[ServiceGroup, datetime, Sequence[str] | None], str]:
    return lambda g, _now, _d: _int(g.total(attr))


def _max_wait(g: ServiceGroup, now: datetime, _d: Sequence[str] | None) -> str:
    oldest = _oldest(g)
    return "0" if oldest is None else _secs(oldest, now)


def _service_level(g: ServiceGroup, _now: datetime, _d: Sequence[str] | None) -> str:
    den = g.total("answered") + g.total("abandoned_in_queue") - g.total("short_abandoned")
    return _pct(g.total("answered_in_sl"), den)


def _max_answer(g: ServiceGroup, _now: datetime, _d: Sequence[str] | None) -> str:
    if not g.total("answered"):
        return ""
    return _round(max(s.wait_max for s in g.services if s.answered))


def _aht(g: ServiceGroup, _now: datetime, _d: Sequence[str] | None) -> str:
    return _avg(g.total_f("handle_sum"), g.total("handled_in") + g.total("handled_out"))


def _svc_dispositions(g: ServiceGroup, _now: datetime, names: Sequence[str] | None) -> str:
    merged: Counter[str] = Counter()
    for s in g.services:
        merged.update(s.dispositions)
    return _dispositions(merged, names)


_SERVICE: dict[str, Callable[[ServiceGroup, datetime, Sequence[str] | None], str]] = {
    "name": _single("name"),
    "service_id": _single("id"),
    "media": _single("media"),
    "in_calls_waiting": _count("waiting"),
    "in_max_wait_time": _max_wait,
    "in_calls_received_per_day": _count("received"),
    "in_calls_queued_per_day": _count("queued"),
    "in_calls_answered_per_day": _count("answered"),
    "in_calls_answered_within_sl_per_day": _count("answered_in_sl"),
    "in_calls_abandoned_in_queue_per_day": _count("abandoned_in_queue"),
    "in_calls_short_abandoned_in_queue_per_day": _count("short_abandoned"),
    "in_calls_abandoned_total_per_day": _count("abandoned_total"),
    "in_calls_abandoned_in_queue_ratio_per_day": lambda g, _n, _d: _pct(
        g.total("abandoned_in_queue"), g.total("queued")
    ),
    "in_calls_abandoned_percent_per_day": lambda g, _n, _d: _pct(
        g.total("abandoned_total"), g.total("received")
    ),
    "service_level": _service_level,
    "service_level_threshold_time": lambda g, _n, _d: g.same("threshold"),
    "service_level_target": lambda g, _n, _d: g.same("target"),
    "in_average_speed_of_answer": lambda g, _n, _d: _avg(
        g.total_f("wait_sum"), g.total("answered")
    ),
    "in_max_speed_of_answer_per_day": _max_answer,
    "in_calls_handled_per_day": _count("handled_in"),
    "calls_average_handling_time_per_day": _aht,
    "calls_dispositions_per_day": _svc_dispositions,
    "out_calls_dialed_per_day": _count("out_dialed"),
    "out_calls_answered_per_day": _count("out_answered"),
    "out_calls_handled_per_day": _count("out_handled"),
    "agents_logged": lambda g, _n, _d: _int(sum(1 for a in g.agents if a.state != LOGGED_OUT)),
    "agents_ready": lambda g, _n, _d: g.count_state(READY),
    "agents_busy": lambda g, _n, _d: g.count_busy(),
    "agents_not_ready": lambda g, _n, _d: g.count_state(NOT_READY),
    "agents_acw": lambda g, _n, _d: g.count_state(ACW),
}


# ---- agents --------------------------------------------------------------------------


def _state_time(a: AgentStats, state: str, now: datetime) -> float:
    total = a.closed.get(state, 0.0)
    if a.open_state == state and a.open_since is not None:
        total += max(0.0, (now - a.open_since).total_seconds())
    return total


def _login_total(a: AgentStats, now: datetime) -> float:
    return sum(_state_time(a, st, now) for st in (READY, NOT_READY, BUSY, ACW))


def _next_state(a: AgentStats) -> str:
    return (a.presence or "") if a.state in (BUSY, ACW) else ""


def _reason(a: AgentStats) -> str:
    if a.state == NOT_READY or (a.state in (BUSY, ACW) and a.presence == NOT_READY):
        return a.reason or ""
    return ""


def _state_duration(a: AgentStats, now: datetime) -> str:
    if not a.has_session:
        return ""
    return _secs(a.state_since, now)


def _active(a: AgentStats, now: datetime, what: str) -> str:
    if not a.active_items or a.active_since is None:
        return ""
    if what == "talk":
        return _secs(a.active_since, now)
    if what == "hold":
        return "0"
    return a.active_media or ""


_AGENT: dict[str, Callable[[AgentStats, datetime, Sequence[str] | None], str]] = {
    "name": lambda a, _n, _d: a.display_name,
    "login_id": lambda a, _n, _d: a.login_id,
    "firstname": lambda a, _n, _d: a.first_name,
    "lastname": lambda a, _n, _d: a.last_name,
    "first_last_name": lambda a, _n, _d: f"{a.first_name} {a.last_name}".strip(),
    "last_first_name": lambda a, _n, _d: ", ".join(x for x in (a.last_name, a.first_name) if x),
    "extension": lambda a, _n, _d: a.extension,
    "team_name": lambda a, _n, _d: a.team_name,
    "team_id": lambda a, _n, _d: a.team_id or "",
    "acd_state": lambda a, _n, _d: a.state,
    "acd_next_state": lambda a, _n, _d: _next_state(a),
    "reason": lambda a, _n, _d: _reason(a),
    "state_duration": lambda a, n, _d: _state_duration(a, n),
    "login_time": lambda a, _n, _d: _int(a.login_at.timestamp()) if a.login_at else "",
    "login_duration": lambda a, n, _d: _secs(a.login_at, n) if a.login_at else "",
    "active_items": lambda a, _n, _d: _int(a.active_items),
    "active_item_talk_duration": lambda a, n, _d: _active(a, n, "talk"),
    "active_item_hold_duration": lambda a, n, _d: _active(a, n, "hold"),
    "active_item_media_type": lambda a, n, _d: _active(a, n, "media"),
    "in_calls_handled_per_day": lambda a, _n, _d: _int(a.handled_in),
    "out_calls_handled_per_day": lambda a, _n, _d: _int(a.out_handled),
    "calls_average_handling_time_per_day": lambda a, _n, _d: _avg(
        a.handle_sum, a.handled_in + a.handled_out
    ),
    "calls_dispositions_per_day": lambda a, _n, names: _dispositions(a.dispositions, names),
    "agent_total_ready_time": lambda a, n, _d: _int(_state_time(a, READY, n)),
    "agent_total_busy_time": lambda a, n, _d: _int(_state_time(a, BUSY, n)),
    "agent_total_ACW_time": lambda a, n, _d: _int(_state_time(a, ACW, n)),
    "agent_total_break_time": lambda a, n, _d: _int(_state_time(a, NOT_READY, n)),
    "agent_total_login_time": lambda a, n, _d: _int(_login_total(a, n)),
}


def agent_value(name: str, a: AgentStats, now: datetime, dispositions: Sequence[str] | None) -> str:
    fn = _AGENT.get(name)
    return fn(a, now, dispositions) if fn is not None else ""


# ---- grids ---------------------------------------------------------------------------


def _number(value: str) -> float | None:
    if value == "":
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _sum(values: Iterable[str]) -> str:
    numbers = [n for n in (_number(v) for v in values) if n is not None]
    if not numbers:
        return ""
    total = sum(numbers)
    return _int(total) if float(total).is_integer() else str(total)


def _matches(value: str, flt: d.RowFilter) -> bool:
    if (value == "") != (flt.value == ""):
        # a value that could not be computed is neither less nor greater than anything
        return flt.op == "NE"
    left, right = _number(value), _number(flt.value)
    cmp: int
    if left is not None and right is not None:
        cmp = (left > right) - (left < right)
    else:
        cmp = (value > flt.value) - (value < flt.value)
    return {
        "EQ": cmp == 0,
        "NE": cmp != 0,
        "LT": cmp < 0,
        "GT": cmp > 0,
        "LE": cmp <= 0,
        "GE": cmp >= 0,
    }[flt.op]


def _sorted(rows: list[Row], order: Sequence[d.OrderKey]) -> list[Row]:
    """Stable multi-key sort; numbers compare as numbers; empty values always last."""
    for key in reversed(order):
        by = key.by
        filled: list[tuple[float, Row]] = []
        texts: list[Row] = []
        empty: list[Row] = []
        numeric = True
        for r in rows:
            v = r.get(by, "")
            if v == "":
                empty.append(r)
                continue
            texts.append(r)
            if numeric:
                n = _number(v)
                if n is None:
                    numeric = False
                else:
                    filled.append((n, r))
        if numeric:
            filled.sort(key=lambda p: p[0], reverse=key.desc)
            rows = [r for _n, r in filled] + empty
        else:
            texts.sort(key=lambda r: r[by].lower(), reverse=key.desc)
            rows = texts + empty
    return rows


def _finish(rows: list[Row], grid: d.Grid) -> list[Row]:
    if grid.filter is not None:
        flt = grid.filter
        rows = [r for r in rows if _matches(r.get(flt.by, ""), flt)]
    if grid.order:
        rows = _sorted(rows, grid.order)
    if grid.limit is not None:
        rows = rows[: grid.limit]
    return rows


Getter = Callable[[Any, datetime, Sequence[str] | None], str]


def _compile(
    columns: Sequence[d.Column], table: dict[str, Getter]
) -> list[tuple[str, Getter | None, Sequence[str] | None, list[Getter]]]:
    """Per column: its id, the getter (None for SUM), its dispositions, the summed getters."""
    none: Getter = lambda _x, _n, _d: ""  # noqa: E731
    return [
        (
            col.id,
            None if col.stat == "SUM" else table.get(col.stat, none),
            col.dispositions,
            [table.get(n, none) for n in col.sum_of],
        )
        for col in columns
    ]


def _rows(
    items: Iterable[Any], columns: Sequence[d.Column], table: dict[str, Getter], now: datetime
) -> list[Row]:
    plan = _compile(columns, table)
    out: list[Row] = []
    for item in items:
        row: Row = {}
        for cid, getter, dispositions, summed in plan:
            if getter is None:
                row[cid] = _sum(g(item, now, dispositions) for g in summed)
            else:
                row[cid] = getter(item, now, dispositions)
        out.append(row)
    return out


def _service_rows(snap: Snapshot, grid: d.Grid, now: datetime) -> list[Row]:
    if grid.service_ids:
        services = [snap.services_by_id[i] for i in grid.service_ids if i in snap.services_by_id]
    else:
        services = [s for s in snap.services if s.enabled]
    groups = [ServiceGroup([svc], [snap.agents[i] for i in svc.agent_indexes]) for svc in services]
    return _finish(_rows(groups, grid.columns, _SERVICE, now), grid)


def visible_agents(snap: Snapshot, viewer: Viewer, grid: d.Grid) -> list[AgentStats]:
    teams = set(snap.supervised.get(viewer.user_id, frozenset()))
    if grid.team_ids:
        teams &= set(grid.team_ids)
    indexes: set[int] = set()
    for team_id in teams:
        indexes.update(snap.agents_by_team.get(team_id, ()))
    if grid.service_ids:
        able: set[int] = set()
        for sid in grid.service_ids:
            svc = snap.services_by_id.get(sid)
            if svc is not None:
                able.update(svc.agent_indexes)
        indexes &= able
    agents = [snap.agents[i] for i in sorted(indexes)]
    if grid.logged_in_only:
        agents = [a for a in agents if a.logged_in]
    return agents


def _agent_rows(snap: Snapshot, viewer: Viewer, grid: d.Grid, now: datetime) -> list[Row]:
    return _finish(_rows(visible_agents(snap, viewer, grid), grid.columns, _AGENT, now), grid)


def _totals(snap: Snapshot, app: d.App, now: datetime) -> dict[str, str]:
    if app.totals_service_ids:
        services = [
            snap.services_by_id[i] for i in app.totals_service_ids if i in snap.services_by_id
        ]
        indexes: set[int] = set()
        for svc in services:
            indexes.update(svc.agent_indexes)
        agents = [snap.agents[i] for i in sorted(indexes)]
    else:
        services = list(snap.services)
        agents = list(snap.agents)
    group = ServiceGroup(services, agents)
    return {name: service_value(name, group, now, app.totals_dispositions) for name in app.totals}


def _messages(snap: Snapshot, viewer: Viewer, spec: d.Messages) -> list[dict[str, str]]:
    teams = set(snap.supervised.get(viewer.user_id, frozenset()))
    own = snap.user_team.get(viewer.user_id)
    if own:
        teams.add(own)
    needle = spec.filter.lower()
    out: list[dict[str, str]] = []
    for m in snap.messages:
        if m.team_ids and not (m.team_ids & teams):
            continue
        if needle and needle not in m.content_lower:
            continue
        out.append(
            {
                "id": m.id,
                "login_id": m.login_id,
                "first_name": m.first_name,
                "last_name": m.last_name,
                "send_time": _int(m.sent_at.timestamp()),
                "is_urgent": "1" if m.is_urgent else "0",
                "content": m.content,
            }
        )
        if len(out) >= spec.limit:
            break
    return out


def render(snap: Snapshot, sub: d.SubscriptionDef, viewer: Viewer, now: datetime) -> dict[str, Any]:
    """The body of ``GET /statsapi/subscription/data``."""
    services_ok = Privilege.STATS_SERVICES in viewer.privileges
    agents_ok = Privilege.STATS_AGENTS in viewer.privileges
    out: dict[str, Any] = {}
    for app_id, app in sub.apps.items():
        out[app_id] = {
            "stats_totals": _totals(snap, app, now) if services_ok else {},
            "service_grids": [
                {"id": g.id, "values": _service_rows(snap, g, now) if services_ok else []}
                for g in app.service_grids
            ],
            "agent_grids": [
                {"id": g.id, "values": _agent_rows(snap, viewer, g, now) if agents_ok else []}
                for g in app.agent_grids
            ],
            "chat_messages": _messages(snap, viewer, app.chat_messages)
            if app.chat_messages is not None
            else [],
        }
    return out
