"""Pure parts of the statistics engine: the statistics day, definition parsing, grid
ordering/filtering, the chart's arithmetic, and the documented catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from switchboard.core.errors import Invalid
from switchboard.stats import catalogue
from switchboard.stats.day import day_start
from switchboard.stats.definition import Grid, OrderKey, RowFilter, parse_subscription
from switchboard.stats.render import _finish, _sum
from switchboard.stats.series import build_series

DOCS = Path(__file__).resolve().parents[1] / "docs" / "statistics.md"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "reset", "expected"),
    [
        (utc(2026, 11, 23, 10, 0), "UTC", "00:00", utc(2026, 11, 23)),
        (utc(2026, 11, 23, 0, 0), "UTC", "00:00", utc(2026, 11, 23)),
        (utc(2026, 11, 23, 3, 59), "UTC", "04:00", utc(2026, 11, 22, 4, 0)),
        # Los Angeles is UTC-8 in November: 04:00 local = 12:00 UTC
        (utc(2026, 11, 23, 11, 59), "America/Los_Angeles", "04:00", utc(2026, 11, 22, 12)),
        (utc(2026, 11, 23, 12, 0), "America/Los_Angeles", "04:00", utc(2026, 11, 23, 12)),
        # summer time: UTC-7
        (utc(2026, 7, 1, 12, 0), "America/Los_Angeles", "04:00", utc(2026, 7, 1, 11)),
        # the day after the spring change (2026-03-08) started at 00:00 PST = 08:00 UTC
        (utc(2026, 3, 8, 9, 0), "America/Los_Angeles", "00:00", utc(2026, 3, 8, 8)),
        # a reset time inside the DST gap (02:30 does not exist on 2026-03-08)
        (utc(2026, 3, 8, 12, 0), "America/Los_Angeles", "02:30", utc(2026, 3, 8, 10, 30)),
        # nonsense falls back to midnight UTC
        (utc(2026, 11, 23, 10, 0), "Mars/Olympus", "xx", utc(2026, 11, 23)),
    ],
)
def test_day_start(now: datetime, zone: str, reset: str, expected: datetime) -> None:
    got = day_start(now, zone, reset)
    assert got <= now < got + timedelta(hours=25)
    assert got == expected


def test_definition_variants() -> None:
    d = parse_subscription(
        {
            "a": {
                "service_grids": [
                    {
                        "id": 7,
                        "columns": [
                            {"id": 1, "statName": "name"},
                            {
                                "id": "2",
                                "stat_name": "in_calls_waiting|SUM",
                                "sum_stat_names": ["agents_ready", "in_calls_waiting"],
                            },
                        ],
                        "order_by": "2",
                        "order_dir": "desc",
                        "order": [{"by": "1"}],
                        "limit": "0",
                        "filter_by": "2",
                        "filter_value": 3,
                    }
                ],
                "agent_grids": [
                    {
                        "id": "g",
                        "columns": [{"id": "x", "stat_name": "login_id"}],
                        "logged_in_agents_only": "true",
                        "team_ids": [],
                        "limit": 5.0,
                    }
                ],
                "chat_messages": {"limit": 1000},
                "unknown": {"ignored": True},
            }
        }
    )
    grid = d.apps["a"].service_grids[0]
    assert grid.id == "7"
    assert [c.id for c in grid.columns] == ["1", "2"]
    assert grid.columns[1].stat == "SUM"
    assert grid.columns[1].sum_of == ["in_calls_waiting", "agents_ready"]
    assert [(k.by, k.desc) for k in grid.order] == [("2", True), ("1", False)]
    assert grid.limit is None
    assert grid.filter == RowFilter(by="2", op="EQ", value="3")
    agents = d.apps["a"].agent_grids[0]
    assert agents.logged_in_only is True and agents.team_ids is None and agents.limit == 5
    assert d.apps["a"].chat_messages is not None and d.apps["a"].chat_messages.limit == 200
    assert d.wants_agents and d.wants_services
    with pytest.raises(Invalid) as e:
        parse_subscription(
            {
                "a": {
                    "agent_grids": [
                        {
                            "id": "g",
                            "columns": [{"id": "x", "stat_name": "login_id"}],
                            "order_dir": "ASC",
                        }
                    ]
                }
            }
        )
    assert "needs order_by" in e.value.message


def grid(
    order: list[OrderKey] | None = None, limit: int | None = None, flt: RowFilter | None = None
) -> Grid:
    return Grid(id="g", columns=[], order=order or [], limit=limit, filter=flt)


def test_grid_order_filter_limit() -> None:
    rows = [
        {"n": "bob", "v": "10"},
        {"n": "Alice", "v": "9"},
        {"n": "carl", "v": ""},
        {"n": "dave", "v": "10"},
    ]
    # numbers compare as numbers, empties last in both directions, stable on ties
    out = _finish(list(rows), grid([OrderKey(by="v", desc=True)]))
    assert [r["n"] for r in out] == ["bob", "dave", "Alice", "carl"]
    out = _finish(list(rows), grid([OrderKey(by="v")]))
    assert [r["n"] for r in out] == ["Alice", "bob", "dave", "carl"]
    # several keys: v descending, then name descending
    out = _finish(list(rows), grid([OrderKey(by="v", desc=True), OrderKey(by="n", desc=True)]))
    assert [r["n"] for r in out] == ["dave", "bob", "Alice", "carl"]
    # text compares case-insensitively
    out = _finish(list(rows), grid([OrderKey(by="n")], limit=2))
    assert [r["n"] for r in out] == ["Alice", "bob"]
    cases = {
        "EQ": ["bob", "dave"],
        "NE": ["Alice", "carl"],
        "LT": ["Alice"],
        "GT": [],
        "LE": ["bob", "Alice", "dave"],
        "GE": ["bob", "dave"],
    }
    for op, expected in cases.items():
        out = _finish(list(rows), grid(flt=RowFilter(by="v", op=op, value="10")))
        assert [r["n"] for r in out] == expected, op
    # text filters compare text
    out = _finish(list(rows), grid(flt=RowFilter(by="n", op="GE", value="c")))
    assert [r["n"] for r in out] == ["carl", "dave"]


def test_sum() -> None:
    assert _sum(["1", "2", ""]) == "3"
    assert _sum(["", ""]) == ""
    assert _sum(["1.5", "1"]) == "2.5"


def test_series_arithmetic() -> None:
    ds = utc(2026, 11, 23)
    now = ds + timedelta(minutes=14)
    # entries/exits: bucket 0 peaks at 3 and ends at 1, bucket 2 peaks at 2 (absolute)
    s = build_series(
        ds, now, 300, [(0, 3, 1), (2, 2, -1)], [(0, 2, 1, 1, 1), (2, 1, 1, 0, 0)], carried=1
    )
    assert s.buckets == 3
    assert s.queue_max == [4, 2, 3]  # carried + max(level at start, peak)
    assert [s.service_level(i) for i in range(3)] == ["50", "50", "67"]
    empty = build_series(ds, ds, 300, [], [], 0)
    assert empty.queue_max == [0] and empty.service_level(0) == ""


def test_docs_list_every_statistic() -> None:
    text = DOCS.read_text()
    for stat in catalogue.STATS:
        line = next((ln for ln in text.splitlines() if ln.startswith(f"| `{stat.name}` |")), None)
        assert line is not None, stat.name
        assert f"| {stat.unit} | {stat.kind} |" in line, stat.name
    # and the names that clients use (client-compatibility notes) are all supported
    for name in (
        "in_calls_waiting in_max_wait_time in_calls_queued_per_day in_calls_received_per_day "
        "in_calls_abandoned_in_queue_per_day in_calls_short_abandoned_in_queue_per_day "
        "in_calls_abandoned_total_per_day in_calls_abandoned_in_queue_ratio_per_day "
        "in_calls_abandoned_percent_per_day service_level service_level_threshold_time "
        "service_level_target out_calls_answered_per_day out_calls_handled_per_day "
        "agents_logged agents_ready agents_busy agents_not_ready agents_acw "
        "in_average_speed_of_answer name login_id firstname lastname first_last_name "
        "last_first_name extension acd_state acd_next_state reason state_duration "
        "login_time team_name active_item_talk_duration active_item_hold_duration "
        "active_item_media_type in_calls_handled_per_day calls_average_handling_time_per_day "
        "agent_total_break_time agent_total_busy_time agent_total_ACW_time "
        "agent_total_ready_time calls_dispositions_per_day"
    ).split():
        assert name in catalogue.BY_NAME, name
