"""Statistics benchmark: 1,000 agents, 50 services, 100 subscriptions polling every second.

Builds a tenant with a busy day behind it (agents in every state with their state log,
20,000 chats of the day, their interactions), then measures:

- the snapshot computation (once per refresh interval per tenant, whatever the viewers);
- rendering one wallboard subscription from the snapshot (totals, a 50-row service grid,
  a 1,000-row agent grid, team messages);
- ``GET /statsapi/subscription/data`` end to end (HTTP, authentication, subscription
  lookup, rendering) with 1, 10 and 100 viewers each polling once a second: p50/p99 of
  the response time, and how many snapshot computations happened meanwhile.

The cost per viewer is the response time; the shared cost (computations per second) stays
the same whatever the number of viewers. Target: one data response < 20 ms.
Options: ``--agents N --services N --chats N --viewers 1,10,100 --seconds N
--refresh S --database-url URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from switchboard.agents.models import AgentSession, AgentStateChange
from switchboard.chats.models import ChatSession
from switchboard.core.db import new_id, utcnow
from switchboard.core.runtime import Runtime
from switchboard.core.security import hash_secret
from switchboard.core.settings import Settings
from switchboard.interactions.models import Interaction, InteractionStep
from switchboard.migrations import upgrade
from switchboard.services.models import Service, Skill
from switchboard.stats import workers as stats_workers
from switchboard.stats.compute import compute
from switchboard.stats.definition import parse_subscription
from switchboard.stats.engine import get_engine
from switchboard.stats.render import Viewer, render
from switchboard.teams.models import Team, team_supervisors
from switchboard.tenants.actions import create_tenant
from switchboard.users.models import Privilege, Role, User, UserSkill, user_roles

PASSWORD = "Bench-pass-123"
STATES = ["ready"] * 3 + ["busy"] * 3 + ["after_call_work"] + ["not_ready"] * 2 + ["logged_out"]


def wallboard_subscription() -> dict[str, Any]:
    service_cols = [
        "name",
        "in_calls_waiting",
        "in_max_wait_time",
        "agents_ready",
        "agents_busy",
        "service_level",
        "in_calls_received_per_day",
        "in_calls_answered_per_day",
        "in_calls_abandoned_in_queue_per_day",
        "in_average_speed_of_answer",
    ]
    agent_cols = [
        "first_last_name",
        "team_name",
        "acd_state",
        "reason",
        "state_duration",
        "active_items",
        "in_calls_handled_per_day",
        "calls_average_handling_time_per_day",
        "agent_total_ready_time",
        "agent_total_break_time",
    ]
    return {
        "wallboard": {
            "stats_totals": [
                "in_calls_waiting",
                "in_max_wait_time",
                "service_level",
                "in_average_speed_of_answer",
                "in_calls_received_per_day",
                "in_calls_answered_per_day",
                "in_calls_abandoned_in_queue_per_day",
                "calls_average_handling_time_per_day",
                "agents_logged",
                "agents_ready",
                "agents_busy",
                "agents_acw",
                "agents_not_ready",
            ],
            "service_grids": [
                {
                    "id": "services",
                    "columns": [{"id": c, "stat_name": c} for c in service_cols],
                    "order_by": "name",
                }
            ],
            "agent_grids": [
                {
                    "id": "agents",
                    "columns": [{"id": c, "stat_name": c} for c in agent_cols],
                    "order": [
                        {"by": "acd_state", "dir": "ASC"},
                        {"by": "first_last_name", "dir": "ASC"},
                    ],
                }
            ],
            "chat_messages": {"filter": "", "limit": 20},
        }
    }


async def build(rt: Runtime, n_agents: int, n_services: int, n_chats: int) -> str:
    rng = random.Random(7)
    tenant = await create_tenant(rt, domain="bench.example.com", name="Bench")
    tid = tenant.id
    now = utcnow()
    day = now - timedelta(hours=min(10, now.hour + now.minute / 60))
    async with rt.db.write() as s:
        roles = {
            r.name: r.id
            for r in (await s.execute(select(Role).where(Role.tenant_id == tid))).scalars()
        }
        teams = [
            {
                "id": new_id(),
                "tenant_id": tid,
                "name": f"Team {i:02d}",
                "default_chat_capacity": 3,
                "created_at": now,
            }
            for i in range(20)
        ]
        await s.execute(insert(Team), teams)
        skills = [{"id": new_id(), "tenant_id": tid, "name": f"skill{i}"} for i in range(10)]
        await s.execute(insert(Skill), skills)
        services = []
        for i in range(n_services):
            need = rng.sample(range(10), rng.choice((0, 1, 1, 2)))
            services.append(
                {
                    "id": new_id(),
                    "tenant_id": tid,
                    "name": f"Service {i:02d}",
                    "media": "chat",
                    "required_skills": {f"skill{k}": rng.choice((10, 30, 50)) for k in need},
                    "service_level_threshold_seconds": 30,
                    "service_level_target_percent": 80,
                    "short_abandon_seconds": 5,
                    "acw_timeout_seconds": 60,
                    "relaxation": [],
                    "enabled": True,
                    "created_at": now,
                }
            )
        await s.execute(insert(Service), services)
        users, links, user_skills, sessions, log = [], [], [], [], []
        for i in range(n_agents):
            uid = new_id()
            users.append(
                {
                    "id": uid,
                    "tenant_id": tid,
                    "login_id": f"agent{i:04d}",
                    "first_name": "Agent",
                    "last_name": f"{i:04d}",
                    "team_id": teams[i % 20]["id"],
                    "extension": str(2000 + i),
                    "emails": [],
                    "addresses": [],
                    "disabled": False,
                    "change_password": False,
                    "voice_mail": False,
                    "greeting": False,
                    "failed_logins": 0,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            links.append({"user_id": uid, "role_id": roles["Agent"]})
            for k in rng.sample(range(10), 4):
                user_skills.append(
                    {"user_id": uid, "skill_id": skills[k]["id"], "level": rng.randint(20, 100)}
                )
            state = rng.choice(STATES)
            t = day
            if state != "logged_out":
                for _ in range(6):
                    st = rng.choice(("ready", "busy", "not_ready", "after_call_work"))
                    end = t + timedelta(minutes=rng.randint(5, 40))
                    log.append(
                        {
                            "tenant_id": tid,
                            "user_id": uid,
                            "state": st,
                            "reason": "Break" if st == "not_ready" else None,
                            "started_at": t,
                            "ended_at": min(end, now),
                        }
                    )
                    t = min(end, now)
                log.append(
                    {
                        "tenant_id": tid,
                        "user_id": uid,
                        "state": state,
                        "reason": "Lunch" if state == "not_ready" else None,
                        "started_at": t,
                        "ended_at": None,
                    }
                )
            sessions.append(
                {
                    "user_id": uid,
                    "tenant_id": tid,
                    "state": state,
                    "presence": "not_ready" if state == "not_ready" else "ready",
                    "reason": "Lunch" if state == "not_ready" else None,
                    "state_since": t,
                    "login_at": day if state != "logged_out" else None,
                    "idle_since": t,
                    "last_seq": 0,
                    "updated_at": now,
                }
            )
        sup = new_id()
        users.append(
            {
                "id": sup,
                "tenant_id": tid,
                "login_id": "supervisor",
                "first_name": "Sam",
                "last_name": "Supervisor",
                "team_id": teams[0]["id"],
                "emails": [],
                "addresses": [],
                "password_hash": hash_secret(PASSWORD),
                "disabled": False,
                "change_password": False,
                "voice_mail": False,
                "greeting": False,
                "failed_logins": 0,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        links.append({"user_id": sup, "role_id": roles["Supervisor"]})
        await s.execute(insert(User), users)
        await s.execute(insert(user_roles), links)
        await s.execute(insert(UserSkill), user_skills)
        await s.execute(
            insert(team_supervisors), [{"team_id": t["id"], "user_id": sup} for t in teams]
        )
        await s.execute(insert(AgentSession), sessions)
        for i in range(0, len(log), 2000):
            await s.execute(insert(AgentStateChange), log[i : i + 2000])
    agent_ids = [u["id"] for u in users[:-1]]
    span = (now - day).total_seconds()
    chats, inters, steps = [], [], []
    for i in range(n_chats):
        svc = services[i % n_services]["id"]
        created = day + timedelta(seconds=rng.uniform(0, span - 120))
        cid = new_id()
        roll = rng.random()
        row = {
            "id": cid,
            "tenant_id": tid,
            "giid": new_id(),
            "service_id": svc,
            "client_key": f"c{i}",
            "priority": 0,
            "requested_skills": {},
            "parameters": {},
            "last_seq": 0,
            "client_cursor": 0,
            "created_at": created,
            "queued_at": created,
            "state": "completed",
            "inactivity_warning_seconds": 0,
            "inactivity_timeout_seconds": 0,
            "poll_abandon_seconds": 120,
        }
        if roll < 0.1:
            row.update(
                ended_at=created + timedelta(seconds=rng.uniform(1, 90)), end_reason="abandoned"
            )
        else:
            answered = created + timedelta(seconds=rng.expovariate(1 / 20))
            ended = answered + timedelta(seconds=rng.uniform(60, 600))
            done = ended + timedelta(seconds=rng.uniform(0, 60))
            row.update(connected_at=answered, ended_at=ended, end_reason="customer_ended")
            iid = new_id()
            agent = rng.choice(agent_ids)
            inters.append(
                {
                    "id": iid,
                    "tenant_id": tid,
                    "media": "chat",
                    "direction": "inbound",
                    "chat_id": cid,
                    "service_id": svc,
                    "state": "completed",
                    "priority": 0,
                    "agent_user_id": agent,
                    "disposition": rng.choice(("Resolved", "Not resolved", None)),
                    "offers": 1,
                    "created_at": created,
                    "queued_at": created,
                    "first_offered_at": answered,
                    "answered_at": answered,
                    "ended_at": ended,
                    "completed_at": done,
                }
            )
            steps.append(
                {
                    "id": new_id(),
                    "interaction_id": iid,
                    "tenant_id": tid,
                    "user_id": agent,
                    "media": "chat",
                    "kind": "route",
                    "phase": "done",
                    "outcome": "completed",
                    "start_seq": 0,
                    "offered_at": answered,
                    "answered_at": answered,
                    "ended_at": ended,
                    "completed_at": done,
                    "disposition": inters[-1]["disposition"],
                }
            )
        chats.append(row)
    for i in range(100):  # waiting now
        created = now - timedelta(seconds=rng.uniform(1, 300))
        chats.append(
            {
                "id": new_id(),
                "tenant_id": tid,
                "giid": new_id(),
                "service_id": services[i % n_services]["id"],
                "client_key": f"w{i}",
                "priority": 0,
                "requested_skills": {"nobody": 1},  # routing leaves them waiting
                "parameters": {},
                "last_seq": 0,
                "client_cursor": 0,
                "created_at": created,
                "queued_at": created,
                "state": "queued",
                "active_client_key": f"w{i}",
                "inactivity_warning_seconds": 0,
                "inactivity_timeout_seconds": 0,
                "poll_abandon_seconds": 120,
            }
        )
    async with rt.db.write() as s:
        for table, rows in ((ChatSession, chats), (Interaction, inters), (InteractionStep, steps)):
            for i in range(0, len(rows), 2000):
                await s.execute(insert(table), rows[i : i + 2000])
    return tid


async def poll(
    client: httpx.AsyncClient,
    token: str,
    offset: float,
    stop: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    """One viewer: GET subscription/data once a second until ``stop``."""
    await asyncio.sleep(offset)
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < stop:
        started = time.monotonic()
        r = await client.get("/statsapi/subscription/data", headers=headers)
        latencies.append((time.monotonic() - started) * 1000)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace, settings: Settings) -> None:
    rt = Runtime.create(settings)
    await rt.start()
    t0 = time.perf_counter()
    tenant_id = await build(rt, args.agents, args.services, args.chats)
    print(
        f"set-up: {args.agents} agents, {args.services} services, {args.chats} chats "
        f"of the day in {time.perf_counter() - t0:.1f} s"
    )
    engine = get_engine(rt)
    engine.settings.refresh_seconds = args.refresh
    settings_ = engine.settings
    full, day, quick = [], [], []
    snap = None
    for _ in range(3):
        t = time.perf_counter()
        async with rt.db.read() as s:
            snap = await compute(s, tenant_id, now=utcnow(), settings=settings_)
        full.append((time.perf_counter() - t) * 1000)
        for _ in range(3):
            t = time.perf_counter()
            async with rt.db.read() as s:
                snap = await compute(s, tenant_id, now=utcnow(), settings=settings_, previous=snap)
            quick.append((time.perf_counter() - t) * 1000)
        saved = settings_.day_refresh_seconds
        settings_.day_refresh_seconds = 0.0  # force the day's sums, on top of the fold
        for _ in range(3):
            t = time.perf_counter()
            async with rt.db.read() as s:
                snap = await compute(s, tenant_id, now=utcnow(), settings=settings_, previous=snap)
            day.append((time.perf_counter() - t) * 1000)
        settings_.day_refresh_seconds = saved
    assert snap is not None
    print(
        "snapshot computation, shared by every viewer of the tenant (medians):\n"
        f"  states, queues, durations (every {settings_.refresh_seconds:g} s): "
        f"{statistics.median(quick):.1f} ms\n"
        f"  + configuration and the day's counters (every {settings_.day_refresh_seconds:g} s,"
        f" finished records summed once): {statistics.median(day):.1f} ms\n"
        f"  from scratch (a process's first, with the chart): {statistics.median(full):.1f} ms"
    )

    definition = parse_subscription(wallboard_subscription())
    async with rt.db.read() as s:
        sup = (
            await s.execute(
                select(User).where(User.login_id == "supervisor", User.tenant_id == tenant_id)
            )
        ).scalar_one()
        viewer = Viewer(sup.id, frozenset(sup.privileges))
    assert Privilege.STATS_AGENTS in viewer.privileges
    renders = []
    for _ in range(50):
        t = time.perf_counter()
        body = render(snap, definition, viewer, utcnow())
        renders.append((time.perf_counter() - t) * 1000)
    rows = len(body["wallboard"]["agent_grids"][0]["values"])
    print(
        f"render one wallboard ({rows} agent rows, {len(snap.services)} service rows): "
        f"median {statistics.median(renders):.2f} ms"
    )

    await sharing_phase(args, rt, tenant_id, viewer)
    await rt.stop()
    await http_phase(args, settings)


async def sharing_phase(
    args: argparse.Namespace, rt: Runtime, tenant_id: str, viewer: Viewer
) -> None:
    """Viewers of one tenant, each asking for its data once a second, with the engine's
    worker refreshing the snapshot: computations and renderings per second stay flat."""
    engine = get_engine(rt)
    worker = asyncio.create_task(stats_workers.run(rt))
    raw = parse_subscription(wallboard_subscription()).model_dump(mode="json")
    engine.viewed(tenant_id)
    await engine.refresh(rt, tenant_id)
    print(f"\nshared work with the engine's worker running, {args.seconds:g} s per row:")
    print(
        f"{'viewers':>8} {'requests':>9} {'computations/s':>15} {'renders/s':>10} "
        f"{'mean us/request':>16}"
    )
    for n in args.viewers:
        before_c = engine.computations.get(tenant_id, 0)
        before_r = engine.renders
        spent: list[float] = []
        t = time.monotonic()

        async def one(offset: float, stop: float, spent: list[float] = spent) -> None:
            await asyncio.sleep(offset)
            while time.monotonic() < stop:
                started = time.perf_counter()
                engine.viewed(tenant_id)
                snap = engine.current(tenant_id)
                if snap is not None:
                    engine.render_json(snap, raw, viewer, utcnow())
                spent.append((time.perf_counter() - started) * 1e6)
                await asyncio.sleep(1.0)

        await asyncio.gather(*(one(i / n, t + args.seconds) for i in range(n)))
        elapsed = time.monotonic() - t
        print(
            f"{n:>8} {len(spent):>9} "
            f"{(engine.computations.get(tenant_id, 0) - before_c) / elapsed:>15.2f} "
            f"{(engine.renders - before_r) / elapsed:>10.2f} {statistics.mean(spent):>16.0f}"
        )
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)


def start_server(settings: Settings, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        SWITCHBOARD_DATABASE_URL=settings.database_url,
        SWITCHBOARD_DATA_DIR=str(settings.data_dir),
        SWITCHBOARD_ARGON2_TIME_COST="1",
        SWITCHBOARD_ARGON2_MEMORY_KIB="1024",
        SWITCHBOARD_LOG_LEVEL="WARNING",
        SWITCHBOARD_STATS_REFRESH_SECONDS=str(settings_refresh(settings)),
    )
    if settings.redis_url:
        env["SWITCHBOARD_REDIS_URL"] = settings.redis_url
    log = open(workdir / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "switchboard.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--timeout-keep-alive",
            "75",
            "--timeout-graceful-shutdown",
            "2",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError((workdir / "server.log").read_text())


_REFRESH: dict[str, float] = {}


def settings_refresh(settings: Settings) -> float:
    return _REFRESH.get("refresh", 1.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def http_phase(args: argparse.Namespace, settings: Settings) -> None:
    """Viewers poll a real server (its own process, as in production) over HTTP."""
    proc, url = start_server(settings, Path(str(settings.data_dir)).parent)
    try:
        limits = httpx.Limits(max_connections=max(args.viewers) + 10)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            tokens = []
            for _ in range(max(args.viewers)):
                r = await client.post(
                    "/statsapi/auth",
                    json={
                        "tenant_url": "bench.example.com",
                        "username": "supervisor",
                        "password": PASSWORD,
                    },
                )
                assert r.status_code == 200, r.text
                tokens.append(r.json()["token"])
            for token in tokens:
                r = await client.post(
                    "/statsapi/subscription",
                    json=wallboard_subscription(),
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 200, r.text
            # the first poll of each viewer: 204 until the server computed once
            for token in tokens:
                await poll(client, token, 0.0, time.monotonic() + 0.1, [], {})
            await asyncio.sleep(2)
            print(
                f"\nGET /statsapi/subscription/data on a live server (1 process), each viewer "
                f"polling once a second for {args.seconds:g} s:"
            )
            print(
                f"{'viewers':>8} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                f"{'server CPU ms/request':>22}"
            )
            for n in args.viewers:
                latencies: list[float] = []
                statuses: dict[int, int] = {}
                t = time.monotonic()
                cpu = cpu_seconds(proc.pid)
                await asyncio.gather(
                    *(
                        poll(client, tok, i / n, t + args.seconds, latencies, statuses)
                        for i, tok in enumerate(tokens[:n])
                    )
                )
                per_request = (cpu_seconds(proc.pid) - cpu) * 1000 / max(1, len(latencies))
                print(
                    f"{n:>8} {len(latencies):>9} {pct(latencies, 0.5):>8.1f} "
                    f"{pct(latencies, 0.99):>8.1f} {max(latencies):>8.1f} {per_request:>22.2f}"
                    + ("" if set(statuses) == {200} else f"   statuses {statuses}")
                )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--services", type=int, default=50)
    p.add_argument("--chats", type=int, default=20000)
    p.add_argument("--viewers", default="1,10,100")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--refresh", type=float, default=1.0)
    p.add_argument("--database-url", default=None)
    args = p.parse_args(argv if argv is not None else sys.argv[1:])
    args.viewers = [int(v) for v in str(args.viewers).split(",") if v.strip()]
    _REFRESH["refresh"] = args.refresh
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-stats-bench-"))
    settings = Settings(
        database_url=args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db",
        data_dir=workdir / "data",
        run_background_workers=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        log_level="WARNING",
    )
    upgrade(settings)
    asyncio.run(run(args, settings))


if __name__ == "__main__":
    main()
