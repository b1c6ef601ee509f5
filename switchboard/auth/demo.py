"""Demo data of the security domain: the demo chat entry (appId "test") allows the
origins of this server itself (``http://127.0.0.1:8080``, ``http://localhost:8080`` and
the configured host), so that a widget page served next to it may call the Messaging API
cross-origin (CORS, ``core.middleware``)."""

from __future__ import annotations

from sqlalchemy import select

from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import ScenarioEntry

DEMO_APP_ID = "test"


def server_origins(host: str, port: int) -> list[str]:
    hosts = [host] if host not in ("0.0.0.0", "::", "") else []
    hosts += ["127.0.0.1", "localhost"]
    out: list[str] = []
    for h in dict.fromkeys(hosts):
        for scheme in ("http", "https"):
            out.append(f"{scheme}://{h}:{port}")
    return out


async def seed_demo_tenant(rt: Runtime, tenant_id: str) -> None:
    origins = server_origins(rt.settings.host, rt.settings.port)
    async with rt.db.write() as s:
        entries = (
            await s.execute(
                select(ScenarioEntry).where(
                    ScenarioEntry.tenant_id == tenant_id, ScenarioEntry.app_id == DEMO_APP_ID
                )
            )
        ).scalars()
        for entry in entries:
            if not entry.allowed_origins:
                entry.allowed_origins = origins
