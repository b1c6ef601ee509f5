"""Parsing a subscription body into its normalised definition.

Accepts every variant clients send: ``stat_name`` or ``statName``; ``SUM`` columns with
``sum_stat_names``; ``order_by``/``order_dir`` or ``order: [{"by", "dir"}]``; limits as
numbers or strings; column ids as strings or numbers; agent grids with ``team_ids``,
``service_ids``, ``logged_in_agents_only``, ``my_subteam_only``; totals with
``stats_totals_service_ids`` and ``stats_totals_dispositions``. Unknown keys are ignored;
a wrong type, a missing id, a reference to an unknown column or an unknown statistic
raise ``Invalid`` naming the place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from switchboard.core.errors import Invalid
from switchboard.stats import catalogue

OPERATIONS = ("EQ", "NE", "LT", "GT", "LE", "GE")
MAX_LIMIT = 100_000
MAX_APPS = 100
MAX_GRIDS = 50
MAX_COLUMNS = 200
DEFAULT_MESSAGES_LIMIT = 20
MAX_MESSAGES_LIMIT = 200

# error codes of the Statistics API (see docs/statistics.md)
BAD_BODY = "1002"
UNKNOWN_STAT = "1003"


class Column(BaseModel):
    id: str
    stat: str  # a statistic name, or "SUM"
    sum_of: list[str] = Field(default_factory=list)
    dispositions: list[str] | None = None


class OrderKey(BaseModel):
    by: str
    desc: bool = False


class RowFilter(BaseModel):
    by: str
    op: str = "EQ"
    value: str = ""


class Grid(BaseModel):
    id: str
    columns: list[Column]
    order: list[OrderKey] = Field(default_factory=list)
    limit: int | None = None
    filter: RowFilter | None = None
    team_ids: list[str] | None = None
    service_ids: list[str] | None = None
    logged_in_only: bool = False
    my_subteam_only: bool = False


class Messages(BaseModel):
    filter: str = ""
    limit: int = DEFAULT_MESSAGES_LIMIT


class App(BaseModel):
    totals: list[str] = Field(default_factory=list)
    totals_service_ids: list[str] | None = None
    totals_dispositions: list[str] | None = None
    service_grids: list[Grid] = Field(default_factory=list)
    agent_grids: list[Grid] = Field(default_factory=list)
    chat_messages: Messages | None = None

    @property
    def wants_services(self) -> bool:
        return bool(self.totals or self.service_grids)


class SubscriptionDef(BaseModel):
    apps: dict[str, App]

    @property
    def wants_agents(self) -> bool:
        return any(a.agent_grids for a in self.apps.values())

    @property
    def wants_services(self) -> bool:
        return any(a.wants_services for a in self.apps.values())


def _bad(where: str, message: str) -> Invalid:
    return Invalid(f"{where}: {message}" if where else message, code=BAD_BODY)


def _ident(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(where, "must be a string")
    text = str(value).strip()
    if not text:
        raise _bad(where, "must not be empty")
    if len(text) > 255:
        raise _bad(where, "is too long")
    return text


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, "must be an array of strings")
    return [_ident(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", ""):
        return value.strip().lower() in ("true", "1")
    raise _bad(where, "must be true or false")


def _limit(value: Any, where: str, *, maximum: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad(where, "must be a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise _bad(where, "must be a whole number")
    if value < 0:
        raise _bad(where, "must not be negative")
    if value == 0:
        return None  # 0 means "no limit"
    return min(value, maximum)


def _scalar_text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _bad(where, "must be a string or a number")


def _check_stat(name: str, scope: str, where: str, *, numeric: bool = False) -> None:
    stat = catalogue.lookup(name, scope)
    if stat is None:
        if name in catalogue.BY_NAME:
            raise Invalid(
                f"{where}: statistic '{name}' cannot be used in a {_scope_name(scope)}",
                code=UNKNOWN_STAT,
            )
        raise Invalid(f"{where}: unknown statistic '{name}'", code=UNKNOWN_STAT)
    if numeric and not stat.numeric:
        raise Invalid(
            f"{where}: statistic '{name}' is not a number and cannot be summed", code=UNKNOWN_STAT
        )


def _scope_name(scope: str) -> str:
    return {"totals": "stats_totals", "service": "service grid", "agent": "agent grid"}[scope]


def _column(raw: Any, scope: str, where: str) -> Column:
    if not isinstance(raw, dict):
        raise _bad(where, "must be an object")
    if "id" not in raw:
        raise _bad(where, "id is required")
    cid = _ident(raw["id"], f"{where}.id")
    name_raw = raw.get("stat_name", raw.get("statName"))
    if name_raw is None:
        raise _bad(where, "stat_name (or statName) is required")
    name = _ident(name_raw, f"{where}.stat_name")
    sum_raw = raw.get("sum_stat_names", raw.get("sumStatNames"))
    sum_of = _str_list(sum_raw, f"{where}.sum_stat_names")
    dispositions_raw = raw.get("dispositions")
    dispositions = (
        None if dispositions_raw is None else _str_list(dispositions_raw, f"{where}.dispositions")
    )
    head, sep, tail = name.rpartition("|")
    if name.upper() == "SUM" or (sep and tail.upper() == "SUM"):
        parts = ([head] if sep and head else []) + sum_of
        parts = list(dict.fromkeys(parts))
        if not parts:
            raise _bad(where, "a SUM column needs sum_stat_names")
        for i, part in enumerate(parts):
            _check_stat(part, scope, f"{where}.sum_stat_names[{i}]", numeric=True)
        return Column(id=cid, stat="SUM", sum_of=parts, dispositions=dispositions)
    _check_stat(name, scope, f"{where}.stat_name")
    return Column(id=cid, stat=name, dispositions=dispositions)


def _order(raw: dict[str, Any], columns: set[str], where: str) -> list[OrderKey]:
    keys: list[tuple[Any, Any, str]] = []
    if raw.get("order") is not None:
        order = raw["order"]
        if isinstance(order, dict):
            order = [order]
        if not isinstance(order, list):
            raise _bad(f"{where}.order", "must be an array of {by, dir}")
        for i, item in enumerate(order):
            if not isinstance(item, dict):
                raise _bad(f"{where}.order[{i}]", "must be an object {by, dir}")
            keys.append((item.get("by"), item.get("dir"), f"{where}.order[{i}]"))
    if raw.get("order_by") not in (None, ""):
        keys.insert(0, (raw.get("order_by"), raw.get("order_dir"), where))
    elif raw.get("order_dir") not in (None, ""):
        raise _bad(f"{where}.order_dir", "needs order_by")
    out = []
    for by_raw, dir_raw, at in keys:
        if by_raw is None:
            raise _bad(at, "order_by (by) is required")
        by = _ident(by_raw, f"{at}.by" if at != where else f"{where}.order_by")
        if by not in columns:
            raise _bad(at, f"order_by refers to unknown column '{by}'")
        direction = "ASC" if dir_raw in (None, "") else str(dir_raw).strip().upper()
        if direction not in ("ASC", "DESC"):
            raise _bad(at, "order_dir must be ASC or DESC")
        out.append(OrderKey(by=by, desc=direction == "DESC"))
    return out


def _filter(raw: dict[str, Any], columns: set[str], where: str) -> RowFilter | None:
    by_raw = raw.get("filter_by")
    op_raw = raw.get("filter_operation")
    if by_raw in (None, ""):
        if op_raw not in (None, "") or raw.get("filter_value") not in (None, ""):
            raise _bad(where, "filter_value and filter_operation need filter_by")
        return None
    by = _ident(by_raw, f"{where}.filter_by")
    if by not in columns:
        raise _bad(where, f"filter_by refers to unknown column '{by}'")
    op = "EQ" if op_raw in (None, "") else str(op_raw).strip().upper()
    if op not in OPERATIONS:
        raise _bad(f"{where}.filter_operation", "must be one of " + "|".join(OPERATIONS))
    value = _scalar_text(raw.get("filter_value"), f"{where}.filter_value")
    return RowFilter(by=by, op=op, value=value)


def _grid(raw: Any, scope: str, where: str) -> Grid:
    if not isinstance(raw, dict):
        raise _bad(where, "must be an object")
    if "id" not in raw:
        raise _bad(where, "id is required")
    gid = _ident(raw["id"], f"{where}.id")
    cols_raw = raw.get("columns")
    if not isinstance(cols_raw, list) or not cols_raw:
        raise _bad(f"{where}.columns", "must be a non-empty array")
    if len(cols_raw) > MAX_COLUMNS:
        raise _bad(f"{where}.columns", f"at most {MAX_COLUMNS} columns")
    columns = [_column(c, scope, f"{where}.columns[{i}]") for i, c in enumerate(cols_raw)]
    ids = [c.id for c in columns]
    if len(set(ids)) != len(ids):
        raise _bad(f"{where}.columns", "column ids must be unique")
    known = set(ids)
    grid = Grid(
        id=gid,
        columns=columns,
        order=_order(raw, known, where),
        limit=_limit(raw.get("limit"), f"{where}.limit", maximum=MAX_LIMIT),
        filter=_filter(raw, known, where),
    )
    if raw.get("service_ids") is not None:
        grid.service_ids = _str_list(raw.get("service_ids"), f"{where}.service_ids") or None
    if scope == catalogue.AGENT:
        if raw.get("team_ids") is not None:
            grid.team_ids = _str_list(raw.get("team_ids"), f"{where}.team_ids") or None
        grid.logged_in_only = _bool(
            raw.get("logged_in_agents_only"), f"{where}.logged_in_agents_only"
        )
        grid.my_subteam_only = _bool(raw.get("my_subteam_only"), f"{where}.my_subteam_only")
    return grid


def _grids(raw: Any, scope: str, where: str) -> list[Grid]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad(where, "must be an array of grid definitions")
    if len(raw) > MAX_GRIDS:
        raise _bad(where, f"at most {MAX_GRIDS} grids")
    grids = [_grid(g, scope, f"{where}[{i}]") for i, g in enumerate(raw)]
    ids = [g.id for g in grids]
    if len(set(ids)) != len(ids):
        raise _bad(where, "grid ids must be unique")
    return grids


def _messages(raw: Any, where: str) -> Messages | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad(where, "must be an object {filter, limit}")
    text = raw.get("filter")
    if text is not None and not isinstance(text, str):
        raise _bad(f"{where}.filter", "must be a string")
    limit = _limit(raw.get("limit"), f"{where}.limit", maximum=MAX_MESSAGES_LIMIT)
    return Messages(filter=(text or "").strip(), limit=limit or DEFAULT_MESSAGES_LIMIT)


def _app(raw: Any, where: str) -> App:
    if not isinstance(raw, dict):
        raise _bad(where, "must be an object")
    totals_raw = raw.get("stats_totals")
    totals = _str_list(totals_raw, f"{where}.stats_totals")
    for i, name in enumerate(totals):
        _check_stat(name, catalogue.TOTALS, f"{where}.stats_totals[{i}]")
    app = App(
        totals=list(dict.fromkeys(totals)),
        service_grids=_grids(raw.get("service_grids"), catalogue.SERVICE, f"{where}.service_grids"),
        agent_grids=_grids(raw.get("agent_grids"), catalogue.AGENT, f"{where}.agent_grids"),
        chat_messages=_messages(raw.get("chat_messages"), f"{where}.chat_messages"),
    )
    if raw.get("stats_totals_service_ids") is not None:
        app.totals_service_ids = (
            _str_list(raw["stats_totals_service_ids"], f"{where}.stats_totals_service_ids") or None
        )
    if raw.get("stats_totals_dispositions") is not None:
        app.totals_dispositions = (
            _str_list(raw["stats_totals_dispositions"], f"{where}.stats_totals_dispositions")
            or None
        )
    return app


def parse_subscription(body: Any) -> SubscriptionDef:
    """The normalised definition of a ``POST /statsapi/subscription`` body."""
    if not isinstance(body, dict):
        raise _bad("", "The body must be a JSON object of app ids")
    if not body:
        raise _bad("", "The body must define at least one app id")
    if len(body) > MAX_APPS:
        raise _bad("", f"At most {MAX_APPS} app ids")
    apps: dict[str, App] = {}
    for key, value in body.items():
        app_id = str(key).strip()
        if not app_id:
            raise _bad("", "app ids must not be empty")
        apps[app_id] = _app(value, app_id)
    return SubscriptionDef(apps=apps)
