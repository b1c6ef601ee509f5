"""The push contract: what every ``PushSender`` does, checked on each.

* ``fake``: the built-in provider (``push_provider=fake``), which sends nothing;
* ``webhook``: the operator's gateway, a receiver on a local port (real HTTP);
* ``apns-fake`` / ``fcm-fake``: the APNs and FCM adapters against local fakes of Apple's
  and Google's services that check what the real ones check (tests/test_push_support.py);
* ``apns-builder`` / ``fcm-builder``: the adapters configured for the real services'
  addresses; their requests are captured (nothing leaves the machine), checked to be the
  documented ones (``https://api.push.apple.com/3/device/{token}``, HTTP/2, a bearer
  provider token; ``https://fcm.googleapis.com/v1/projects/{project}/messages:send``,
  a bearer access token) and answered by the same fakes.

The contract: a notification to a known device is ``sent`` and arrives with its title,
body and data; a long text is shortened to what the service takes (4 KB payloads) and
still sent; a token the service no longer knows is ``invalid_token`` (the chat then
forgets it), and nothing arrives.

And the rule of when to push (the chat engine's): nothing while the customer holds a
poll (the poll carries the message), a notification when the customer holds none.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from switchboard.chats.presence import presence_of
from switchboard.chats.push import (
    APNS_HOSTS,
    MAX_PAYLOAD,
    ApnsSender,
    FakePushSender,
    FcmSender,
    PushMessage,
    PushSender,
    WebhookPushSender,
)
from switchboard.core.runtime import Runtime
from tests.conftest import TenantInfo
from tests.test_agent_support import wait_for
from tests.test_carriers_support import serve
from tests.test_messaging_support import Customer, connect_agent
from tests.test_push_support import FakeApns, FakeFcm, apns_key, serve_h2

TEAM = "TEAM123456"
BUNDLE = "com.example.app"
PROJECT = "switchboard-contract"

# (token, title, body, data) as the device would show it
Shown = tuple[str, str, str, dict[str, Any]]


@dataclass
class Harness:
    sender: PushSender
    kind: str  # the kind of token the provider carries
    bundle_id: str | None
    register: Callable[[str], None]  # the device exists
    unregister: Callable[[str], None]  # the app was removed from it
    shown: Callable[[], list[Shown]]  # what reached devices, in order
    limit: int | None = None  # the payload bytes the service takes
    captured: list[httpx.Request] = field(default_factory=list)


def _apns_shown(fake: FakeApns) -> list[Shown]:
    out: list[Shown] = []
    for d in fake.delivered:
        payload = dict(d["payload"])
        alert = payload.pop("aps")["alert"]
        out.append((d["token"], alert["title"], alert["body"], payload))
    return out


def _fcm_shown(fake: FakeFcm) -> list[Shown]:
    return [
        (m["token"], m["notification"]["title"], m["notification"]["body"], m["data"])
        for m in fake.delivered
    ]


def webhook_receiver(got: list[dict[str, Any]], gone: set[str]) -> FastAPI:
    """The operator's push gateway: 410 for a token it knows to be gone."""
    app = FastAPI()

    @app.post("/push")
    async def push(request: Request) -> Response:
        body = await request.json()
        if body["token"] in gone:
            return Response(status_code=410)
        got.append(body)
        return Response(status_code=204)

    return app


async def _forward(fake_url: str, request: httpx.Request, *, http2: bool) -> httpx.Response:
    async with httpx.AsyncClient(http1=not http2, http2=http2, base_url=fake_url) as c:
        answer = await c.request(
            request.method,
            request.url.raw_path.decode(),
            content=request.content,
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
    return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture(params=["fake", "webhook", "apns-fake", "fcm-fake", "apns-builder", "fcm-builder"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    kind = request.param
    if kind == "fake":
        fake = FakePushSender()
        yield Harness(
            fake,
            "android_firebase",
            None,
            lambda _t: None,
            fake.invalid_tokens.add,
            lambda: [(m.token, m.title, m.body, m.data) for m in fake.sent],
        )
        return
    if kind == "webhook":
        got: list[dict[str, Any]] = []
        gone: set[str] = set()
        async with serve(webhook_receiver(got, gone)) as url:
            yield Harness(
                WebhookPushSender(url + "/push"),
                "ios_apns",
                BUNDLE,
                lambda _t: None,
                gone.add,
                lambda: [(b["token"], b["title"], b["body"], b["data"]) for b in got],
            )
        return
    if kind.startswith("apns"):
        apns = FakeApns()
        kid, key_file = apns_key(tmp_path, apns, TEAM, BUNDLE)
        async with serve_h2(apns.app()) as url:
            captured: list[httpx.Request] = []
            base, transport = url, None
            if kind == "apns-builder":
                base = APNS_HOSTS["production"]

                async def apple(req: httpx.Request) -> httpx.Response:
                    """Where Apple's address would answer: check, then let the fake."""
                    captured.append(req)
                    assert req.url.scheme == "https" and req.url.host == "api.push.apple.com"
                    assert req.url.path.startswith("/3/device/")
                    assert req.headers["authorization"].startswith("bearer ")
                    assert req.headers["apns-topic"] == BUNDLE
                    return await _forward(url, req, http2=True)

                transport = httpx.MockTransport(apple)
            sender = ApnsSender(
                team_id=TEAM,
                key_id=kid,
                private_key=key_file.read_text(),
                base_url=base,
                timeout=10.0,
                transport=transport,
            )

            def register(token: str) -> None:
                apns.devices[token] = BUNDLE

            yield Harness(
                sender,
                "ios_apns",
                BUNDLE,
                register,
                apns.unregistered.add,
                lambda: _apns_shown(apns),
                MAX_PAYLOAD,
                captured,
            )
            await sender.close()
        return
    fcm = FakeFcm()
    async with serve(fcm.app()) as url:
        fcm.base_url = url  # the service account's token_uri: the fake's token endpoint
        info_path = fcm.service_account(tmp_path, PROJECT)
        info = json.loads(info_path.read_text())
        captured = []
        base, transport = url, None
        if kind == "fcm-builder":
            base = "https://fcm.googleapis.com"

            async def google(req: httpx.Request) -> httpx.Response:
                captured.append(req)
                assert req.url.scheme == "https" and req.url.host == "fcm.googleapis.com"
                assert req.url.path == f"/v1/projects/{PROJECT}/messages:send"
                assert req.headers["authorization"].startswith("Bearer ")
                assert req.headers["content-type"] == "application/json"
                return await _forward(url, req, http2=False)

            transport = httpx.MockTransport(google)
        fcm_sender = FcmSender(
            credentials_info=info, project_id=None, base_url=base, timeout=10.0, transport=transport
        )
        yield Harness(
            fcm_sender,
            "android_firebase",
            None,
            fcm.devices.add,
            fcm.unregistered.add,
            lambda: _fcm_shown(fcm),
            MAX_PAYLOAD,
            captured,
        )
        await fcm_sender.close()


async def test_push_contract(harness: Harness) -> None:
    h = harness
    device, removed = "a1" * 32, "b2" * 32
    h.register(device)
    h.register(removed)
    message = PushMessage(
        kind=h.kind,
        token=device,
        bundle_id=h.bundle_id,
        title="Alice",
        body="are you there?",
        data={"chat_id": "chat-1"},
    )
    assert await h.sender.send(message) == "sent"
    assert h.shown() == [(device, "Alice", "are you there?", {"chat_id": "chat-1"})]
    # a long text: shortened to fit the service, still sent, with its title and data
    text = "é" * 3000
    assert await h.sender.send(replace(message, body=text)) == "sent"
    token, title, body, data = h.shown()[-1]
    assert (token, title, data) == (device, "Alice", {"chat_id": "chat-1"})
    assert body and text.startswith(body)
    if h.limit is not None:
        assert len(body) < len(text)
    # the app was removed from the device: the service says the token is no longer valid
    h.unregister(removed)
    assert await h.sender.send(replace(message, token=removed)) == "invalid_token"
    assert len(h.shown()) == 2
    if h.captured:
        assert len(h.captured) == 3


# ---- when to push -----------------------------------------------------------------------


async def test_no_push_while_the_customer_holds_a_poll(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent writes while the customer's app holds a poll: the poll carries the
    message, no notification goes out. With no poll held, the next message is pushed."""
    fake = FakePushSender()
    rt.providers["push"] = fake
    try:
        c = Customer(client, tenant)
        await c.start()
        r = await c.post(
            f"/chats/{c.chat_id}/notifications", {"android_firebase_device_token": "FCM-P"}
        )
        assert r.status_code == 200, r.text
        seat = await connect_agent(client, rt, tenant, c.chat_id)
        await c.poll()  # what is pending (the agent joined) is read now
        monkeypatch.setattr(rt.settings, "long_poll_seconds", 60.0)  # the poll waits
        held = asyncio.create_task(c.poll())

        async def holding() -> bool:
            return await presence_of(rt).owner(c.chat_id) is not None

        await wait_for(holding)
        await seat.say("are you there?")
        events = await asyncio.wait_for(held, 30)
        assert [e.get("msg") for e in events if e.get("msg")] == ["are you there?"]
        await rt.db.settle()  # a push would follow the commit
        assert fake.sent == []
        # the app went to the background: no poll held, the message is pushed
        await seat.say("hello?")
        await rt.db.settle()
        assert [(m.token, m.body, m.data) for m in fake.sent] == [
            ("FCM-P", "hello?", {"chat_id": c.chat_id})
        ]
    finally:
        rt.providers.pop("push", None)
