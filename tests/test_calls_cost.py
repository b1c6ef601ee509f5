"""What a call costs the server in the media path (docs/calls.md): a live server
(``calls_media_path = "server"``) carries K concurrent calls between aiortc clients in
this process (each side sends a tone and plays what it receives); the server process's
CPU time and resident memory are read from /proc over a window, and ``GET /health`` is
timed meanwhile (the event loop serving chats must not stall).

A measurement, not a check: it runs only with ``SWITCHBOARD_CALLS_MEASURE=1,4,8`` (the
levels of K) and prints a table (also written to ``SWITCHBOARD_CALLS_MEASURE_OUT``).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import LiveServer, new_tenant
from tests.test_calls_signaling import signal, started

LEVELS = [int(x) for x in os.environ.get("SWITCHBOARD_CALLS_MEASURE", "").split(",") if x]
pytestmark = pytest.mark.skipif(not LEVELS, reason="set SWITCHBOARD_CALLS_MEASURE=1,4,8")
WINDOW = float(os.environ.get("SWITCHBOARD_CALLS_MEASURE_SECONDS", "20"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def drain(track: Any) -> None:
    """Plays a received track (reads and drops its frames), as a browser would."""
    while True:
        try:
            await track.recv()
        except Exception:
            return


async def one_call(http: httpx.AsyncClient, rt: Runtime, tenant: Any, login: str) -> list[Any]:
    import aiortc

    from tests.test_calls_media import Tone

    c, seat, channel = await started(http, rt, tenant, login)
    await c.send(signal({"type": "REQUEST_CALL", "offerVideo": "false"}, seat.party_id))
    await channel.until("call_ringing")
    agent_pc, customer_pc = aiortc.RTCPeerConnection(), aiortc.RTCPeerConnection()
    tasks: list[Any] = []
    agent_pc.on("track", lambda t: tasks.append(asyncio.ensure_future(drain(t))))
    customer_pc.on("track", lambda t: tasks.append(asyncio.ensure_future(drain(t))))
    agent_pc.addTrack(Tone(440.0))
    await agent_pc.setLocalDescription(await agent_pc.createOffer())
    await seat.post(
        "signaling", {"data": {"type": "OFFER_CALL", "sdp": agent_pc.localDescription.sdp}}
    )
    answer = await channel.until("call_signal")
    await agent_pc.setRemoteDescription(
        aiortc.RTCSessionDescription(sdp=answer["data"]["sdp"], type="answer")
    )
    offer = None
    while offer is None:
        for e in await c.poll():
            if e["event"] == "chat_session_signaling" and e["data"]["type"] == "OFFER_CALL":
                offer = e
    await customer_pc.setRemoteDescription(
        aiortc.RTCSessionDescription(sdp=offer["data"]["sdp"], type="offer")
    )
    customer_pc.addTrack(Tone(660.0))
    await customer_pc.setLocalDescription(await customer_pc.createAnswer())
    await c.send(signal({"type": "ANSWER_CALL", "sdp": customer_pc.localDescription.sdp}))
    await channel.until("call_connected")
    return [seat, agent_pc, customer_pc, tasks]


async def health_latencies(http: httpx.AsyncClient, seconds: float) -> list[float]:
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        r = await http.get("/health")
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        await asyncio.sleep(0.05)
    return out


async def measure(server: LiveServer, http: httpx.AsyncClient, seconds: float) -> dict[str, float]:
    pid = server.process.pid
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    lat = await health_latencies(http, seconds)
    cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    lat.sort()
    return {
        "cpu_percent": round(cpu * 100, 1),
        "rss_mib": round(rss_mib(pid), 1),
        "health_p50_ms": round(statistics.median(lat), 1),
        "health_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
        "health_max_ms": round(lat[-1], 1),
    }


@pytest.mark.timeout(1800)
async def test_media_cost_per_call(
    live_server_factory: Callable[..., LiveServer], rt: Runtime
) -> None:
    server = live_server_factory(
        calls_media_path="server", recordings_format="wav", ice_servers="[]"
    )
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        idle = await measure(server, http, min(WINDOW, 10))
        rows.append({"calls": 0, **idle})
        for k in LEVELS:
            tenants = [await new_tenant(rt) for _ in range((k + 2) // 3)]
            calls = []
            for i in range(k):
                calls.append(await one_call(http, rt, tenants[i // 3], f"agent{i % 3 + 1}"))
                print(f"call {i + 1}/{k} up", flush=True)
            row = await measure(server, http, WINDOW)
            print(row, flush=True)
            rows.append({"calls": k, **row})
            for seat, agent_pc, customer_pc, tasks in calls:
                await seat.post("signaling", {"data": {"type": "END_CALL"}})
                await agent_pc.close()
                await customer_pc.close()
                for t in tasks:
                    t.cancel()
            # the recordings are written; the server settles before the next level
            await asyncio.sleep(2)
    base_cpu, base_rss = rows[0]["cpu_percent"], rows[0]["rss_mib"]
    for row in rows[1:]:
        row["cpu_percent_per_call"] = round((row["cpu_percent"] - base_cpu) / row["calls"], 1)
        row["rss_mib_per_call"] = round((row["rss_mib"] - base_rss) / row["calls"], 1)
    table = json.dumps(rows, indent=1)
    print(table)
    out = os.environ.get("SWITCHBOARD_CALLS_MEASURE_OUT")
    if out:
        with open(out, "w") as f:
            f.write(table)
