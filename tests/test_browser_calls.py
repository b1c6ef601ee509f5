"""A call in a chat between two Chromium pages (issue 14): the demo chat page (customer)
asks for a call, the agent desktop rings and answers, media flows both ways through the
server (the browsers' own statistics count the packets they received), the agent mutes,
holds and hangs up; the recordings API then serves a WAV per party with sound in it, and
the interaction shows the call. Chromium's fake devices are the microphones."""

from __future__ import annotations

import asyncio
import io
import os
import wave
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from switchboard.calls.models import Call
from switchboard.chats.models import ChatSession
from switchboard.core.runtime import Runtime
from switchboard.recordings.models import Recording
from tests.conftest import OFFER_WAIT_MS, PASSWORD, LiveServer, TenantInfo, get_token
from tests.test_messaging_support import update_entry

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

# packets of a kind a page has received (its RTCPeerConnection's inbound-rtp statistics)
RECEIVED = """async ([name, kind]) => {
  const pc = window[name] && window[name].pc;
  if (!pc) return 0;
  let n = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === kind) n += s.packetsReceived || 0;
  });
  return n;
}"""


async def until(predicate: Callable[[], Any], what: str, tries: int = 300) -> Any:
    """Polls ``predicate`` until it answers something truthy (bounded)."""
    for _ in range(tries):
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def received(page: Any, name: str, packets: int, kind: str = "audio") -> int:
    """Waits until the page's call has received more than ``packets`` packets of
    ``kind``."""

    async def count() -> int:
        n: int = await page.evaluate(RECEIVED, [name, kind])
        return n if n > packets else 0

    got: int = await until(count, f"{packets} packets on {name}")
    return got


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")
@pytest.mark.parametrize(
    ("media_path", "video"),
    [("server", False), ("relay", False), ("relay", True), ("server", True)],
)
async def test_call_between_customer_and_agent_pages(
    live_server_factory: Callable[..., LiveServer],
    rt: Runtime,
    tenant: TenantInfo,
    media_path: str,
    video: bool,
    request: pytest.FixtureRequest,
) -> None:
    """Through the server (recorded), or browser to browser (the server relays the
    signaling only); a video call when the entry enables ``videoCallEnabled``."""
    from playwright.async_api import async_playwright

    if video:
        await update_entry(rt, tenant, widget_configuration={"videoCallEnabled": True})
    talking = "In a video call" if video else "In a call"

    server = live_server_factory(
        calls_media_path=media_path, recordings_format="wav", ice_servers="[]"
    )
    # on SQLite the servers share the database but no bus: a server left running would
    # route the next variant's chat where that variant's desktop never hears of it
    request.addfinalizer(server.process.terminate)
    base = server.base_url
    async with async_playwright() as pw, httpx.AsyncClient(base_url=base, timeout=20) as http:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            agent_ctx = await browser.new_context(permissions=["microphone", "camera"])
            customer_ctx = await browser.new_context(permissions=["microphone", "camera"])
            agent = await agent_ctx.new_page()
            customer = await customer_ctx.new_page()

            # the agent logs in and goes ready
            await agent.goto(base + "/agent/")
            await agent.fill("#tenant", tenant.domain)
            await agent.fill("#login", "agent1")
            await agent.fill("#password", PASSWORD)
            await agent.click("#login-btn")
            await agent.wait_for_selector("#state-select", state="visible")
            await agent.select_option("#state-select", "ready")
            await agent.wait_for_selector("#state.ready")

            # the customer starts a chat; the agent takes it
            await customer.goto(f"{base}/chat/?tenantUrl={tenant.domain}")
            await customer.wait_for_selector("#prechat", state="visible")
            await customer.fill("input[name=FIRST_NAME]", "Carla")
            await customer.fill("textarea[name=message]", "Can we talk?")
            await customer.click("#prechat button[type=submit]")
            await agent.wait_for_selector("#offers li button.accept", timeout=OFFER_WAIT_MS)
            await agent.click("#offers li button.accept")
            await customer.wait_for_selector("#log li.info:has-text('joined')", timeout=15000)

            # the customer calls; the agent's desktop rings and answers
            await customer.click("#video-btn" if video else "#call-btn")
            await agent.wait_for_selector("#call-bar[data-state=ringing]", timeout=15000)
            ringing = "Incoming video call" if video else "Incoming call"
            assert await agent.text_content("#call-status") == ringing
            if media_path == "relay" and not video:
                # a reloaded desktop rings again
                await agent.reload()
                await agent.wait_for_selector("#call-bar[data-state=ringing]", timeout=15000)
            await agent.click("#call-answer")
            await agent.wait_for_selector("#call-bar[data-state=connected]", timeout=20000)
            await customer.wait_for_selector(f"#call-status:has-text('{talking}')", timeout=20000)

            # media both ways: each browser counts packets it received
            for page, name in ((agent, "sbAgentCall"), (customer, "sbCall")):
                await received(page, name, 100)
                if video:
                    await received(page, name, 50, "video")
            # the desktop shows the call's duration, mutes and holds
            await agent.wait_for_selector("#call-time:has-text(':')")
            await agent.click("#call-mute")
            assert await agent.text_content("#call-mute") == "Unmute"
            await agent.click("#call-mute")
            await agent.click("#call-hold")
            assert await agent.text_content("#call-status") == "On hold"
            await agent.click("#call-hold")
            assert await agent.text_content("#call-status") == talking
            # some seconds of both voices (the fake microphones beep every second)
            for page, name in ((agent, "sbAgentCall"), (customer, "sbCall")):
                await received(page, name, 250)

            # the agent hangs up: the customer's call ends too
            await agent.click("#call-hangup")
            await customer.wait_for_selector("#call-panel", state="hidden", timeout=15000)
            await customer.wait_for_selector("#log li.info:has-text('call has ended')")
        finally:
            await browser.close()

        async with rt.db.read() as s:
            chat = (
                await s.execute(
                    select(ChatSession).where(ChatSession.tenant_id == tenant.tenant_id)
                )
            ).scalar_one()
            call = (await s.execute(select(Call).where(Call.chat_id == chat.id))).scalar_one()
        assert (call.state, call.outcome, call.ended_by, call.media_path) == (
            "ended",
            "completed",
            "agent",
            media_path,
        )
        assert call.answered_at is not None and call.step_id is not None
        if media_path == "relay":
            return  # the media never reached the server: nothing to record

        async def recorded() -> Recording | None:
            async with rt.db.read() as s:
                found: Recording | None = (
                    await s.execute(select(Recording).where(Recording.source_id == call.step_id))
                ).scalar_one_or_none()
                return found

        rec = await until(recorded, "the recording")
        headers = {"Authorization": f"Bearer {await get_token(http, tenant)}"}
        giid = call.interaction_id
        r = await http.get(
            "/configapi/v2/multi_channel_recordings", params={"giid": giid}, headers=headers
        )
        assert r.status_code == 200, r.text
        shape = r.json()
        assert [p["party_type"] for p in shape["parties"]] == ["UNIDENTIFIED", "USER"]
        for party in shape["parties"]:
            r = await http.get(
                "/configapi/v2/multi_channel_recordings/audio",
                params={"giid": giid, "iid": shape["interaction_id"], "party": party["party_id"]},
                headers=headers,
            )
            assert r.status_code == 200, r.text
            with wave.open(io.BytesIO(r.content)) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
            assert len(pcm) >= 8000 * 2, party  # seconds of the call
            assert np.abs(pcm).max() > 500, party  # the fake microphone's beeps
        r = await http.get("/configapi/v2/recordings/audio", params={"giid": giid}, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"

        # the interaction shows the call (the agent's view)
        token = await agent_token(http, tenant)
        r = await http.get(
            f"/agentapi/v1/interactions/{giid}/calls",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        [shown] = r.json()["calls"]
        assert shown["recording_id"] == rec.id and shown["duration"] >= 1


async def agent_token(http: httpx.AsyncClient, tenant: TenantInfo) -> str:
    r = await http.post(
        "/agentapi/v1/login",
        json={"tenant": tenant.domain, "loginId": "agent1", "password": tenant.password},
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token
