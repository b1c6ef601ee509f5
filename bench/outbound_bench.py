"""Outbound lists benchmark: ``addAll`` of 100,000 calling-list records (target < 10 s),
``replaceAll`` of 1,000,000 DNC numbers (target < 30 s), and DNC lookups per second
against the 1,000,000-entry list and against a 1,000-entry list (the cost must not depend
on the list's size).

Runs the Configuration API in-process (HTTP through ASGI, JSON bodies as clients send
them) on a fresh SQLite file, or on ``--database-url`` (PostgreSQL: a database that
``switchboard migrate`` may create tables in). Options: ``--records N --dnc N
--lookups N --database-url URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from pathlib import Path

import httpx

API = "/configapi/v2"


async def _bench(url: str, data_dir: Path, records: int, dnc: int, lookups: int) -> None:
    from switchboard.app import create_app
    from switchboard.core.runtime import Runtime
    from switchboard.core.settings import Settings
    from switchboard.dnc import service as dnc_service
    from switchboard.dnc.phones import normalize
    from switchboard.tenants.demo import create_demo_tenant

    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        run_background_workers=False,
    )
    rt = Runtime.create(settings)
    await rt.start()
    domain = f"bench{random.randrange(10**8)}.example"
    creds = await create_demo_tenant(rt, domain=domain, admin_secret="S" * 40, password="Pw-123456")
    app = create_app(runtime=rt)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as c:
        r = await c.post(
            f"{API}/oauth/token",
            data={
                "client_id": "admin",
                "client_secret": creds.admin_secret,
                "scope": domain,
                "grant_type": "client_credentials",
            },
        )
        h = {
            "Authorization": f"Bearer {r.json()['access_token']}",
            "Content-Type": "application/json",
        }

        rows = [
            {
                "ID": str(1000 + i),
                "firstName": f"First{i}",
                "lastName": f"Last{i}",
                "Phone": f"1{2002000000 + i}",
                "Status": ("Gold", "Silver", "Bronze")[i % 3],
            }
            for i in range(records)
        ]
        body = json.dumps(rows).encode()
        t0 = time.perf_counter()
        r = await c.post(f"{API}/callinglist/addAll/list.csv", content=body, headers=h)
        took = time.perf_counter() - t0
        assert r.status_code == 200 and r.json()["added"] == records, r.text[:300]
        print(
            f"  addAll {records:,} records ({len(body) / 1e6:.1f} MB): {took:.2f} s "
            f"({records / took:,.0f} records/s; target < 10 s)"
        )

        numbers = [[str(2012000000 + i * 3), "bench"] for i in range(dnc)]
        body = json.dumps(numbers).encode()
        t0 = time.perf_counter()
        r = await c.post(f"{API}/donotcalllist/replaceAll/DNC_List", content=body, headers=h)
        took = time.perf_counter() - t0
        assert r.status_code == 200 and r.json()["added"] == dnc, r.text[:300]
        print(
            f"  replaceAll {dnc:,} DNC numbers ({len(body) / 1e6:.1f} MB): {took:.2f} s "
            f"({dnc / took:,.0f} numbers/s; target < 30 s)"
        )
        r = await c.post(f"{API}/donotcalllist", json={"name": "Small"}, headers=h)
        small = [[str(2012000000 + i * 3)] for i in range(1000)]
        r = await c.post(f"{API}/donotcalllist/replaceAll/Small", json=small, headers=h)
        assert r.json()["added"] == 1000

    rng = random.Random(7)
    async with rt.db.read() as s:
        lists = await dnc_service.applicable_lists(session=s, tenant_id=creds.tenant_id)
    for label, chosen in (
        (f"{dnc:,}-entry list", [d for d in lists if d.name == "DNC_List"]),
        ("1,000-entry list", [d for d in lists if d.name == "Small"]),
    ):
        probes = [
            normalize(str(2012000000 + rng.randrange(0, 3 * max(dnc, 1000))), "US") or ""
            for _ in range(lookups)
        ]
        hits = 0
        t0 = time.perf_counter()
        async with rt.db.read() as s:
            for n in probes:
                found = await dnc_service.check(session=s, lists=chosen, numbers=[n])
                hits += bool(found.phones)
        took = time.perf_counter() - t0
        print(
            f"  DNC lookups on the {label}: {lookups / took:,.0f} lookups/s "
            f"({took / lookups * 1e6:.0f} µs each, number and its area-code prefixes; "
            f"{hits:,} hits)"
        )
    await rt.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--dnc", type=int, default=1_000_000)
    p.add_argument("--lookups", type=int, default=5_000)
    p.add_argument("--database-url", default=None)
    args = p.parse_args()
    from switchboard.core.settings import Settings
    from switchboard.migrations import upgrade

    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        print(f"outbound lists on {url.split('://', 1)[0]}")
        upgrade(Settings(database_url=url))
        asyncio.run(_bench(url, Path(tmp), args.records, args.dnc, args.lookups))


if __name__ == "__main__":
    main()
