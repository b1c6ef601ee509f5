"""``GET /health`` of Switchboard against a hello-world app on the same stack.

    python -m bench health [--seconds 8] [--connections 64]

Both servers run on the same uvicorn settings (one worker) and are loaded by the same
keep-alive HTTP/1.1 client (this process, on uvloop) for ``--seconds``. Printed: requests
per second, the server's CPU per request, and Switchboard/hello ratios. The hello-world
app is a FastAPI app with one route, so the ratio isolates what Switchboard adds per
request (its middlewares and routing table).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench._kit import (
    Conn,
    Server,
    cpu_seconds,
    print_table,
    scratch,
    start_server,
    use_uvloop,
    wait_ready,
)


def hello() -> FastAPI:
    """The baseline: ``uvicorn --factory bench.health:hello``."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


async def load(server: Server, seconds: float, connections: int) -> dict[str, Any]:
    done = 0
    errors = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, errors
        conn = Conn("127.0.0.1", server.port)
        try:
            while time.monotonic() < stop:
                status, _, _ = await conn.request("GET", "/health")
                if status == 200:
                    done += 1
                else:
                    errors += 1
        finally:
            conn.close()

    # warm up, then measure
    await asyncio.gather(*(worker() for _ in range(4)))
    done = errors = 0
    stop = time.monotonic() + seconds
    cpu0 = cpu_seconds(server.pid)
    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    wall = time.monotonic() - t0
    cpu = cpu_seconds(server.pid) - cpu0
    return {
        "server": server.name,
        "req/s": round(done / wall),
        "cpu us/req": round(cpu * 1e6 / max(done, 1)),
        "server cores": round(cpu / wall, 2),
        "errors": errors,
    }


async def amain(args: argparse.Namespace, env: dict[str, str]) -> None:
    rows = []
    for name, app in (("hello", "bench.health:hello()"), ("switchboard", "switchboard.asgi:app")):
        server = start_server(name, app, env=env if name == "switchboard" else None)
        try:
            await wait_ready(server)
            await asyncio.sleep(1.0)  # let start-up work (the demo tenant, workers) settle
            rows.append(await load(server, args.seconds, args.connections))
        finally:
            server.stop()
    h, s = rows
    rows.append(
        {
            "server": "switchboard/hello",
            "req/s": round(s["req/s"] / max(h["req/s"], 1), 3),
            "cpu us/req": round(s["cpu us/req"] / max(h["cpu us/req"], 1), 2),
        }
    )
    print_table("GET /health", rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--connections", type=int, default=64)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    sc = scratch(None, None)
    use_uvloop()
    asyncio.run(amain(args, sc.env))


if __name__ == "__main__":
    main()
