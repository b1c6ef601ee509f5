"""The wallboard in headless Chromium against a live server: a supervisor signs in and
sees live totals, services, agents with states, the day chart and team messages."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import PASSWORD, LiveServer, TenantInfo
from tests.test_stats_support import agent_login, answer, customer_chat, set_state

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")


async def test_wallboard_live(
    live_server_factory: Callable[..., LiveServer], tenant: TenantInfo, rt: Runtime
) -> None:
    from playwright.async_api import async_playwright

    server = live_server_factory(
        stats_refresh_seconds=0.2,
        stats_day_refresh_seconds=0.2,
        stats_chart_refresh_seconds=0.2,
    )
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=15) as http,
        async_playwright() as pw,
    ):
        agent = await agent_login(http, tenant, "agent1", state="not_ready", reason="Break")
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page()
            await page.goto(server.base_url + "/wallboard/")
            await page.wait_for_selector("#login-form", state="visible")
            await page.fill("#tenant", tenant.domain)
            await page.fill("#login", "supervisor1")
            await page.fill("#password", PASSWORD)
            await page.click("#login-btn")
            await page.wait_for_selector("#conn.on", timeout=15000)
            assert await page.text_content("#who") == "supervisor1"

            async def tile(name: str) -> str:
                return (await page.text_content(f'.tile[data-stat="{name}"] .v') or "").strip()

            assert await tile("agents_logged") == "1"
            assert await tile("agents_not_ready") == "1"
            await page.wait_for_selector("#agents td >> text=Alice Agent")
            assert "Not ready (Break)" in (await page.text_content("#agents tbody") or "")
            assert "Chat Service" in (await page.text_content("#services tbody") or "")

            # a customer arrives: the waiting tile and the service row go up, live
            chat_id = await customer_chat(rt, http, tenant, "wall-1")
            await page.wait_for_function(
                "document.querySelector('.tile[data-stat=\"in_calls_waiting\"] .v')"
                ".textContent.trim() === '1'",
                timeout=15000,
            )
            # the agent goes ready and answers: busy, answered, service level 100 %
            await set_state(http, agent, "ready")
            await answer(http, agent, chat_id)
            await page.wait_for_function(
                "document.querySelector('.tile[data-stat=\"agents_busy\"] .v')"
                ".textContent.trim() === '1'",
                timeout=15000,
            )
            # the tiles change as each statistic's update arrives: wait for the queue too
            await page.wait_for_function(
                "document.querySelector('.tile[data-stat=\"in_calls_waiting\"] .v')"
                ".textContent.trim() === '0'",
                timeout=15000,
            )
            await page.wait_for_function(
                "document.querySelector('.tile[data-stat=\"in_calls_answered_per_day\"] .v')"
                ".textContent.trim() === '1'",
                timeout=15000,
            )
            await page.wait_for_selector("#agents .state.busy")
            await page.wait_for_function(
                "document.querySelector('.tile[data-stat=\"service_level\"] .v')"
                ".textContent.trim() === '100%'",
                timeout=15000,
            )
            # the day chart: a queue bar and the service level line
            await page.select_option("#chart-service", label="Chat Service")
            await page.wait_for_selector("#chart rect.queue", state="attached", timeout=15000)
            await page.wait_for_selector("#chart path.sl", state="attached", timeout=15000)
            # a team message posted from the wallboard appears in its list
            await page.fill("#msg-input", "Great job team")
            await page.click("#msg-send")
            await page.wait_for_selector("#msg-list li >> text=Great job team", timeout=15000)
            shots = os.environ.get("SWITCHBOARD_TEST_SCREENSHOTS")
            if shots:
                await page.set_viewport_size({"width": 1400, "height": 1000})
                await page.screenshot(path=os.path.join(shots, "wallboard.png"), full_page=True)
            # sign out: back to the sign-in form
            await page.click("#logout-btn")
            await page.wait_for_selector("#login-form", state="visible")
        finally:
            await browser.close()
