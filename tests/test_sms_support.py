"""Helpers of the SMS/MMS API tests (this module has no tests of its own)."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx

from switchboard.core.runtime import Runtime
from switchboard.scenarios.models import AccessNumber
from switchboard.sms.carriers import FakeCarrier, get_carrier
from tests.conftest import TenantInfo

SMS = "/clientweb/smsapi/v1"
DEMO_NUMBER = "16505555555"  # the demo tenant's access number (voice_text)
SEED_KEYS = {
    "account_sid",
    "api_version",
    "body",
    "num_segments",
    "num_media",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "price",
    "sid",
    "status",
    "to",
    "uri",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fake(rt: Runtime) -> FakeCarrier:
    carrier = get_carrier(rt)
    assert isinstance(carrier, FakeCarrier)
    return carrier


def unique_number() -> str:
    """A North-American number no other test uses (E.164)."""
    return f"+1415{secrets.randbelow(10**7):07d}"


async def add_access_number(
    rt: Runtime, tenant: TenantInfo, *, media: str = "voice_text", scenario: str | None = None
) -> str:
    number = unique_number()
    async with rt.db.write() as s:
        s.add(
            AccessNumber(
                tenant_id=tenant.tenant_id,
                number=number.lstrip("+"),
                media=media,
                type="scenario",
                scenario=scenario,
            )
        )
    return number


async def wait_status(
    client: httpx.AsyncClient, headers: dict[str, str], sid: str, *want: str, timeout: float = 10
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = await client.get(f"{SMS}/Messages/{sid}", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in want:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"message {sid} stayed {body['status']}, wanted {want}")
        await asyncio.sleep(0.05)


async def wait_sent(rt: Runtime, to: str, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not any(m.to_e164 == to and text in m.body for m in fake(rt).sent):
        if time.monotonic() > deadline:
            raise AssertionError(f"no SMS to {to} containing {text!r}")
        await asyncio.sleep(0.05)
