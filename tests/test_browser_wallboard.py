"""The wallboard in headless Chromium for a supervisor's day (issue 13): thresholds with
colours per service (configurable), "Busy" per service counting only that service's
work, per-agent active chats, supervisor actions on agents, the day chart zoomed to the
hours with data, and an accessibility check with axe-core when it is available."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import PASSWORD, LiveServer, TenantInfo
from tests.test_browser_desktop import ARGS, CHROMIUM, Shots, axe_source, serious_violations
from tests.test_stats_support import AGENT, agent_login, answer, bearer, customer_chat

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no /usr/bin/chromium")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def shot(tmp_path: Path) -> Shots:
    return Shots(tmp_path)


async def board(browser: Any, server: LiveServer, tenant: TenantInfo) -> Any:
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await page.goto(server.base_url + "/wallboard/")
    await page.wait_for_selector("#login-form", state="visible")
    assert await serious_violations(page) == []
    # the demo tenant of this server is prefilled
    await page.wait_for_function(f"document.querySelector('#tenant').value === {tenant.domain!r}")
    await page.fill("#login", "supervisor1")
    await page.fill("#password", PASSWORD)
    await page.click("#login-btn")
    await page.wait_for_selector("#conn.on", timeout=15000)
    assert not await page.is_visible("#login-view")
    return page


def cell(service: str, stat: str) -> str:
    return f'#services tr:has(td:text-is("{service}")) td[data-stat="{stat}"]'


async def test_wallboard_for_a_supervisors_day(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    rt: Runtime,
    shot: Shots,
) -> None:
    server = live_server_factory(
        demo_tenant=tenant.domain,
        stats_refresh_seconds=0.2,
        stats_day_refresh_seconds=0.2,
        stats_chart_refresh_seconds=0.2,
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        agent2 = await agent_login(http, tenant, "agent2", state="not_ready")
        agent3 = await agent_login(http, tenant, "agent3", state="not_ready")
        page = await board(browser, server, tenant)
        from playwright.async_api import expect

        # a waiting chat: amber by default (1 waiting), red once the supervisor says so
        await customer_chat(rt, http, tenant, "wb-1")
        await page.wait_for_selector(cell("Chat Service", "in_calls_waiting") + ".lvl-warn")
        await page.wait_for_selector('.tile[data-stat="in_calls_waiting"].lvl-warn')
        await page.click("#thresholds-btn")
        row = '#thresholds-table tr:has(td:text-is("Chat Service"))'
        await page.fill(f'{row} input[data-kind="waiting"][data-i="1"]', "1")
        await shot(page, "thresholds")
        await page.click("#thresholds-save")
        await page.wait_for_selector(cell("Chat Service", "in_calls_waiting") + ".lvl-alert")
        # the totals keep the defaults: amber
        await page.wait_for_selector('.tile[data-stat="in_calls_waiting"].lvl-warn')
        # kept in this browser
        await page.reload()
        await page.wait_for_selector(cell("Chat Service", "in_calls_waiting") + ".lvl-alert")

        # agent2 answers: busy for the Chat Service, not for the Voice Service (agent2
        # has its skills, but no voice work)
        await http.put(AGENT + "/state", json={"state": "ready"}, headers=bearer(agent2))
        chat_id = await customer_chat(rt, http, tenant, "wb-2")
        await answer(http, agent2, chat_id)
        await expect(page.locator(cell("Chat Service", "agents_busy"))).to_have_text(
            "1", timeout=15000
        )
        assert (await page.text_content(cell("Voice Service", "agents_busy"))) == "0"

        # per-agent active chats: the count opens the agent's interactions
        await page.click('#agents tr[data-login="agent2"] td[data-stat="active_items"] button')
        await page.wait_for_selector("#agent-dialog[open]")
        await page.wait_for_selector("#agent-dialog-items li >> text=Cust wb-")
        await shot(page, "agent-dialog")
        if axe_source() is not None:
            assert await serious_violations(page) == []
        await page.click("#agent-dialog-close")

        # supervisor actions: agent3 not ready with a reason, then logged out
        await page.click('#agents tr[data-login="agent3"] button.manage')
        await page.wait_for_selector("#agent-dialog[open]")
        await page.wait_for_function("document.querySelector('#act-reason').options.length > 1")
        await page.select_option("#act-reason", "Lunch")
        await page.click("#act-not-ready")
        await page.wait_for_selector("#agent-dialog:not([open])", state="attached")

        async def state(token: str) -> dict[str, Any]:
            r = await http.get(AGENT + "/state", headers=bearer(token))
            body: dict[str, Any] = r.json()
            return body

        assert (await state(agent3))["reason"] == "Lunch"
        await page.wait_for_selector('#agents tr[data-login="agent3"] >> text=Not ready (Lunch)')
        await page.click('#agents tr[data-login="agent3"] button.manage')
        await page.click("#act-logout")
        await page.wait_for_selector("#agent-dialog:not([open])", state="attached")
        assert (await state(agent3))["state"] == "logged_out"
        # a busy agent cannot be logged out: the dialog says why
        await page.click('#agents tr[data-login="agent2"] button.manage')
        await page.click("#act-logout")
        await page.wait_for_function(
            "document.querySelector('#agent-dialog-error').textContent.length > 0"
        )
        await page.click("#agent-dialog-close")

        # the day chart shows the hours with data, not the whole day
        await page.reload()
        await page.wait_for_selector("#conn.on")
        await page.wait_for_function(
            "(() => { const c = document.querySelector('#chart');"
            " return c.dataset.to && (c.dataset.to - c.dataset.from) < 24 * 3600; })()",
            timeout=15000,
        )
        await shot(page, "wallboard")
        if axe_source() is not None:
            assert await serious_violations(page) == []
