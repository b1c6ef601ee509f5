"""Helpers of the GMS tests (this module has no tests of its own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.gms.models import GmsService, GmsStorageEntry
from tests.conftest import TenantInfo

GMS = "/genesys/1"
CHAT = "/genesys/2/chat"
DEMO_NUMBER = "16505555555"


def host(t: TenantInfo) -> dict[str, str]:
    """GMS finds the tenant from the Host the request was sent to."""
    return {"Host": t.domain}


def assert_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert isinstance(body["message"], str) and body["message"]
    assert body["exception"].endswith("Exception")
    return body


async def expire_service(rt: Runtime, service_id: str, *, ago: float = 1.0) -> None:
    """Test set-up: the service's expiration has passed."""
    async with rt.db.write() as s:
        await s.execute(
            update(GmsService)
            .where(GmsService.id == service_id)
            .values(expires_at=utcnow() - timedelta(seconds=ago))
        )


async def expire_entry(rt: Runtime, entry_id: str) -> None:
    async with rt.db.write() as s:
        await s.execute(
            update(GmsStorageEntry)
            .where(GmsStorageEntry.id == entry_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def parse_iso(value: str) -> datetime:
    assert value.endswith("Z") and "T" in value, value
    return datetime.fromisoformat(value)


async def create_service(
    client: httpx.AsyncClient, t: TenantInfo, name: str, **fields: str
) -> dict[str, Any]:
    r = await client.post(f"{GMS}/service/{name}", data=fields, headers=host(t))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
