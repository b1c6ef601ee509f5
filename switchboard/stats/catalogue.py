"""Every statistic the engine supports: name, where it may be used, unit and meaning.

``docs/statistics.md`` presents the same catalogue; a test checks that they agree.
Scopes: ``totals`` (``stats_totals``), ``service`` (service grid columns), ``agent``
(agent grid columns). Kinds: ``instantaneous`` (current state), ``per_day`` (cumulative
since the tenant's daily reset time, in its time zone), ``config`` (configured values),
``identity`` (names and ids).
"""

from __future__ import annotations

from dataclasses import dataclass

TOTALS = "totals"
SERVICE = "service"
AGENT = "agent"

INSTANT = "instantaneous"
PER_DAY = "per_day"
CONFIG = "config"
IDENTITY = "identity"

NUMERIC_UNITS = ("count", "seconds", "percent", "timestamp")


@dataclass(frozen=True)
class Stat:
    name: str
    scopes: frozenset[str]
    unit: str  # count | seconds | percent | timestamp | text
    kind: str
    meaning: str

    @property
    def numeric(self) -> bool:
        return self.unit in NUMERIC_UNITS


def _s(name: str, scopes: str, unit: str, kind: str, meaning: str) -> Stat:
    return Stat(name, frozenset(scopes.split(",")), unit, kind, meaning)


_TS = "totals,service"

STATS: tuple[Stat, ...] = (
    # ---- services (grid rows) and totals (summed over the selected services) ---------
    _s(
        "name",
        "service,agent",
        "text",
        IDENTITY,
        "Service name (agent grid: the agent's display name).",
    ),
    _s("service_id", "service", "text", IDENTITY, "Service id (as in cfg/services)."),
    _s("media", "service", "text", IDENTITY, "Service media: chat, voice, email or outbound."),
    _s(
        "in_calls_waiting",
        _TS,
        "count",
        INSTANT,
        "Interactions waiting for an agent now (queued or being offered, not yet answered).",
    ),
    _s(
        "in_max_wait_time",
        _TS,
        "seconds",
        INSTANT,
        "Longest current wait among the waiting interactions; 0 when none waits.",
    ),
    _s("in_calls_received_per_day", _TS, "count", PER_DAY, "Interactions that arrived today."),
    _s(
        "in_calls_queued_per_day",
        _TS,
        "count",
        PER_DAY,
        "Interactions that arrived today and entered the queue.",
    ),
    _s(
        "in_calls_answered_per_day",
        _TS,
        "count",
        PER_DAY,
        "Interactions that arrived today and were answered by an agent.",
    ),
    _s(
        "in_calls_answered_within_sl_per_day",
        _TS,
        "count",
        PER_DAY,
        "Answered today within the service level threshold.",
    ),
    _s(
        "in_calls_abandoned_in_queue_per_day",
        _TS,
        "count",
        PER_DAY,
        "The customer left while waiting in the queue (short abandons included).",
    ),
    _s(
        "in_calls_short_abandoned_in_queue_per_day",
        _TS,
        "count",
        PER_DAY,
        "Abandoned in the queue within the service's short-abandon time.",
    ),
    _s(
        "in_calls_abandoned_total_per_day",
        _TS,
        "count",
        PER_DAY,
        "The customer left before being answered, anywhere (IVR or queue).",
    ),
    _s(
        "in_calls_abandoned_in_queue_ratio_per_day",
        _TS,
        "percent",
        PER_DAY,
        "100 x abandoned in queue / queued; empty when nothing queued.",
    ),
    _s(
        "in_calls_abandoned_percent_per_day",
        _TS,
        "percent",
        PER_DAY,
        "100 x abandoned total / received; empty when nothing arrived.",
    ),
    _s(
        "service_level",
        _TS,
        "percent",
        PER_DAY,
        "100 x answered within threshold / (answered + abandoned in queue - short abandoned); empty when the divisor is 0.",
    ),
    _s(
        "service_level_threshold_time",
        _TS,
        "seconds",
        CONFIG,
        "The service's service level threshold (totals: when all selected services agree).",
    ),
    _s(
        "service_level_target",
        _TS,
        "percent",
        CONFIG,
        "The service's service level target (totals: when all selected services agree).",
    ),
    _s(
        "in_average_speed_of_answer",
        _TS,
        "seconds",
        PER_DAY,
        "Average wait of the interactions answered today (queue entry to answer); empty when none.",
    ),
    _s(
        "in_max_speed_of_answer_per_day",
        _TS,
        "seconds",
        PER_DAY,
        "Longest wait of the interactions answered today; empty when none.",
    ),
    _s(
        "in_calls_handled_per_day",
        "totals,service,agent",
        "count",
        PER_DAY,
        "Inbound interactions answered and finished (after-call work done) today; agents: their own parts.",
    ),
    _s(
        "calls_average_handling_time_per_day",
        "totals,service,agent",
        "seconds",
        PER_DAY,
        "Average handling time (answer to end of after-call work) of the interactions finished today; empty when none.",
    ),
    _s(
        "calls_dispositions_per_day",
        "totals,service,agent",
        "count",
        PER_DAY,
        "Interactions finished today with one of the column's dispositions (totals: stats_totals_dispositions; none listed = any disposition).",
    ),
    _s(
        "out_calls_dialed_per_day",
        "totals,service",
        "count",
        PER_DAY,
        "Outbound calls the dialer placed today for the service's campaigns.",
    ),
    _s(
        "out_calls_answered_per_day",
        "totals,service",
        "count",
        PER_DAY,
        "Outbound calls answered by the called party today.",
    ),
    _s(
        "out_calls_handled_per_day",
        "totals,service,agent",
        "count",
        PER_DAY,
        "Outbound calls answered and connected to an agent today (agents: their own).",
    ),
    _s(
        "agents_logged",
        _TS,
        "count",
        INSTANT,
        "Agents logged in who can take the service (totals: any selected service; no selection: all agents).",
    ),
    _s("agents_ready", _TS, "count", INSTANT, "Of those, agents ready (idle, waiting for work)."),
    _s("agents_busy", _TS, "count", INSTANT, "Of those, agents handling at least one interaction."),
    _s("agents_not_ready", _TS, "count", INSTANT, "Of those, agents not ready (any reason)."),
    _s("agents_acw", _TS, "count", INSTANT, "Of those, agents in after-call work."),
    # ---- agents (grid rows) --------------------------------------------------------
    _s("login_id", "agent", "text", IDENTITY, "The agent's login id."),
    _s("firstname", "agent", "text", IDENTITY, "First name."),
    _s("lastname", "agent", "text", IDENTITY, "Last name."),
    _s("first_last_name", "agent", "text", IDENTITY, "First and last name."),
    _s("last_first_name", "agent", "text", IDENTITY, "Last name, first name."),
    _s("extension", "agent", "text", IDENTITY, "Extension."),
    _s("team_name", "agent", "text", IDENTITY, "The agent's team."),
    _s("team_id", "agent", "text", IDENTITY, "The agent's team id (as in cfg/teams)."),
    _s(
        "acd_state",
        "agent",
        "text",
        INSTANT,
        "ready, not_ready, busy, after_call_work or logged_out.",
    ),
    _s(
        "acd_next_state",
        "agent",
        "text",
        INSTANT,
        "While busy or in after-call work: the state chosen for afterwards (ready or not_ready); empty otherwise.",
    ),
    _s(
        "reason",
        "agent",
        "text",
        INSTANT,
        "The not-ready reason (also the next one while busy); empty otherwise.",
    ),
    _s(
        "state_duration",
        "agent",
        "seconds",
        INSTANT,
        "Time in the current state; empty for an agent who never logged in.",
    ),
    _s(
        "login_time",
        "agent",
        "timestamp",
        INSTANT,
        "When the agent logged in (Unix seconds, UTC); empty when logged out.",
    ),
    _s(
        "login_duration",
        "agent",
        "seconds",
        INSTANT,
        "Time since the agent logged in; empty when logged out.",
    ),
    _s("active_items", "agent", "count", INSTANT, "Interactions the agent is connected to now."),
    _s(
        "active_item_talk_duration",
        "agent",
        "seconds",
        INSTANT,
        "Time since the agent answered the active interaction (the longest running one); empty when none.",
    ),
    _s(
        "active_item_hold_duration",
        "agent",
        "seconds",
        INSTANT,
        "Time the active interaction is on hold (chats are never on hold: 0); empty when none.",
    ),
    _s(
        "active_item_media_type",
        "agent",
        "text",
        INSTANT,
        "Media of the active interaction (chat, voice, email, outbound); empty when none.",
    ),
    _s("agent_total_ready_time", "agent", "seconds", PER_DAY, "Time ready today."),
    _s("agent_total_busy_time", "agent", "seconds", PER_DAY, "Time busy today."),
    _s("agent_total_ACW_time", "agent", "seconds", PER_DAY, "Time in after-call work today."),
    _s(
        "agent_total_break_time",
        "agent",
        "seconds",
        PER_DAY,
        "Time not ready today (every reason).",
    ),
    _s(
        "agent_total_login_time",
        "agent",
        "seconds",
        PER_DAY,
        "Time logged in today (the sum of the four above).",
    ),
)

BY_NAME: dict[str, Stat] = {s.name: s for s in STATS}


def lookup(name: str, scope: str) -> Stat | None:
    stat = BY_NAME.get(name)
    if stat is None or scope not in stat.scopes:
        return None
    return stat


def names(scope: str) -> list[str]:
    return [s.name for s in STATS if scope in s.scopes]
