"""The per-tenant snapshot: everything the renderer needs, computed once per interval.

Durations that grow with time (waits, time in state, talk time, time logged in) are kept
as start instants, so a snapshot rendered a little later still shows live values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from switchboard.stats.series import Series

LOGGED_OUT = "logged_out"
READY = "ready"
NOT_READY = "not_ready"
BUSY = "busy"
ACW = "after_call_work"
TIMED_STATES = (READY, NOT_READY, BUSY, ACW)


@dataclass
class ServiceStats:
    id: str
    name: str
    media: str
    enabled: bool
    threshold: int
    target: int
    short_abandon: int
    required_skills: dict[str, int]
    # now
    waiting: int = 0
    oldest_wait: datetime | None = None
    # today (chats by arrival)
    received: int = 0
    queued: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned_in_queue: int = 0
    short_abandoned: int = 0
    abandoned_total: int = 0
    wait_sum: float = 0.0
    wait_max: float = 0.0
    # today (interactions by completion)
    handled_in: int = 0
    handled_out: int = 0
    handle_sum: float = 0.0
    dispositions: Counter[str] = field(default_factory=Counter)
    # outbound attempts of the day (campaigns of this service)
    out_dialed: int = 0
    out_answered: int = 0
    out_handled: int = 0
    # indexes into Snapshot.agents of the agents who can take this service
    agent_indexes: list[int] = field(default_factory=list)


@dataclass
class AgentStats:
    user_id: str
    login_id: str
    first_name: str
    last_name: str
    display_name: str
    extension: str
    team_id: str | None
    team_name: str
    skills: dict[str, int]
    has_session: bool = False
    state: str = LOGGED_OUT
    presence: str | None = None
    reason: str | None = None
    state_since: datetime | None = None
    login_at: datetime | None = None
    # time per state today: closed periods, plus the open one
    closed: dict[str, float] = field(default_factory=dict)
    open_state: str | None = None
    open_since: datetime | None = None
    # today
    handled_in: int = 0
    handled_out: int = 0
    handle_sum: float = 0.0
    dispositions: Counter[str] = field(default_factory=Counter)
    # outbound calls of the day connected to this agent by the dialer
    out_handled: int = 0
    # now
    active_items: int = 0
    active_media: str | None = None
    active_since: datetime | None = None
    # the services of the interactions connected now ("Busy" of a service counts only
    # the agents busy with its work)
    active_services: set[str] = field(default_factory=set)

    @property
    def logged_in(self) -> bool:
        return self.state != LOGGED_OUT


@dataclass(frozen=True)
class MessageRow:
    id: str
    login_id: str
    first_name: str
    last_name: str
    team_ids: frozenset[str]
    content: str
    content_lower: str
    is_urgent: bool
    sent_at: datetime


@dataclass
class Snapshot:
    tenant_id: str
    computed_at: datetime
    day_start: datetime
    services: list[ServiceStats]
    agents: list[AgentStats]
    teams: dict[str, str]
    # user id -> teams supervised; user id -> own team (every user, for messages)
    supervised: dict[str, frozenset[str]]
    user_team: dict[str, str | None]
    messages: list[MessageRow]
    series: dict[str, Series] = field(default_factory=dict)
    series_all: Series | None = None
    series_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    # when the day's counters were last summed (they are reused in between)
    day_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    # the configuration it was built on (switchboard.stats.compute.Config), reused
    config: Any = None
    # the day's figures of finished records (switchboard.stats.compute.Fold), carried on
    fold: Any = None
    compute_seconds: float = 0.0
    services_by_id: dict[str, ServiceStats] = field(default_factory=dict)
    agents_by_team: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.services_by_id = {s.id: s for s in self.services}
        by_team: dict[str, list[int]] = {}
        for i, a in enumerate(self.agents):
            if a.team_id is not None:
                by_team.setdefault(a.team_id, []).append(i)
        self.agents_by_team = by_team
