"""The wallboard in headless Chromium for a supervisor's day (issue 13): thresholds with
colours per service (configurable) for the waiting chats, the longest wait and the
service level, "Busy" per service counting only that service's work, per-agent active
chats, supervisor actions on agents, the day chart zoomed to the hours with data and
showing that data, and axe-core accessibility checks (reported as skipped without
axe-core). Screenshots are kept in ``var/screenshots/test_browser_wallboard/<test>/``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import PASSWORD, LiveServer, TenantInfo, get_token
from tests.test_browser_support import (
    ARGS,
    CHROMIUM,
    Axe,
    Shots,
    needs_chromium,
    serious_violations,
)
from tests.test_stats_support import (
    AGENT,
    agent_login,
    answer,
    bearer,
    customer_chat,
    customer_leaves,
    set_state,
)

pytestmark = needs_chromium


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
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots.for_test(request)


@pytest.fixture
def axe() -> Axe:
    return Axe()


async def board(
    browser: Any, server: LiveServer, tenant: TenantInfo, axe: Axe | None = None
) -> Any:
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await page.goto(server.base_url + "/wallboard/")
    await page.wait_for_selector("#login-form", state="visible")
    if axe is not None:
        await axe.check(page, "login form")
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
    axe: Axe,
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
        page = await board(browser, server, tenant, axe)
        from playwright.async_api import expect

        # a waiting chat: amber by default (1 waiting), red once the supervisor says so
        await customer_chat(rt, http, tenant, "wb-1")
        await page.wait_for_selector(cell("Chat Service", "in_calls_waiting") + ".lvl-warn")
        await page.wait_for_selector('.tile[data-stat="in_calls_waiting"].lvl-warn')
        await page.click("#thresholds-btn")
        row = '#thresholds-table tr:has(td:text-is("Chat Service"))'
        await page.fill(f'{row} input[data-kind="waiting"][data-i="1"]', "1")
        await shot(page, "thresholds")
        await axe.check(page, "thresholds form")
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
        await axe.check(page, "agent dialog")
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
        await axe.check(page, "wallboard")
    axe.verdict()


# the chart's plot area in its viewBox (wallboard.js drawChart: W, L, R)
CHART_LEFT, CHART_RIGHT = 36, 800 - 40

SET_THRESHOLD = """([service, kind, i, value]) => {
  const row = [...document.querySelectorAll('#thresholds-table tr')]
    .find((tr) => tr.cells[0] && tr.cells[0].textContent === service);
  row.querySelector(`input[data-kind="${kind}"][data-i="${i}"]`).value = String(value);
}"""

BACKGROUND = "(el) => getComputedStyle(el).backgroundColor"


async def set_thresholds(page: Any, service: str, kind: str, amber: int, red: int) -> None:
    """Through the wallboard's Thresholds form (kept in this browser)."""
    await page.click("#thresholds-btn")
    await page.wait_for_selector("#thresholds-table input")
    await page.evaluate(SET_THRESHOLD, [service, kind, 0, amber])
    await page.evaluate(SET_THRESHOLD, [service, kind, 1, red])
    await page.click("#thresholds-save")
    await page.wait_for_selector("#thresholds", state="hidden")


async def test_longest_wait_and_service_level_colour_their_cells(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    rt: Runtime,
    shot: Shots,
) -> None:
    """The longest wait turns amber, then red, as a chat waits past the thresholds; the
    service level (one chat answered in time, one abandoned: 50 %) is red under the
    defaults (amber below 80 %, red below 60 %), amber and green under thresholds of
    the service's own; the cells' colours are the stylesheet's. The day chart then
    shows the queue and the service level inside the hours it is zoomed to."""
    server = live_server_factory(
        demo_tenant=tenant.domain,
        stats_refresh_seconds=0.2,
        stats_day_refresh_seconds=0.2,
        stats_chart_refresh_seconds=0.2,
    )
    from playwright.async_api import expect

    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        # every abandoned chat counts in the service level (none is "short")
        admin = {"Authorization": f"Bearer {await get_token(http, tenant)}"}
        r = await http.patch(
            "/adminapi/v1/services/Chat Service", json={"shortAbandonSeconds": 0}, headers=admin
        )
        assert r.status_code == 200, r.text
        agent2 = await agent_login(http, tenant, "agent2", state="ready")
        answered = await customer_chat(rt, http, tenant, "sl-1")
        await answer(http, agent2, answered)
        await set_state(http, agent2, "not_ready")  # no more offers: the next chat waits
        page = await board(browser, server, tenant)
        wait_cell = page.locator(cell("Chat Service", "in_max_wait_time"))
        sl_cell = page.locator(cell("Chat Service", "service_level"))
        await expect(sl_cell).to_have_text("100%", timeout=15000)
        await expect(sl_cell).to_have_class("n lvl-ok")

        # the longest wait: amber from 1 s, red from an hour, then from 2 s
        await set_thresholds(page, "Chat Service", "wait", 1, 3600)
        waiting = await customer_chat(rt, http, tenant, "sl-2")
        await expect(wait_cell).to_have_class("n lvl-warn", timeout=15000)
        amber = await wait_cell.evaluate(BACKGROUND)
        await shot(page, "longest-wait-amber")
        await set_thresholds(page, "Chat Service", "wait", 1, 2)
        await expect(wait_cell).to_have_class("n lvl-alert", timeout=15000)
        red = await wait_cell.evaluate(BACKGROUND)
        assert "rgba(0, 0, 0, 0)" not in (amber, red) and amber != red, (amber, red)
        await shot(page, "longest-wait-red")

        # the waiting customer gives up: answered in time 1, abandoned 1 -> 50 %
        await customer_leaves(rt, http, tenant, "sl-2", waiting)
        await expect(sl_cell).to_have_text(re.compile(r"^50%"), timeout=15000)
        await expect(wait_cell).to_have_class("n lvl-ok", timeout=15000)
        await page.click("#thresholds-btn")
        await page.click("#thresholds-reset")  # the defaults: red below 60 %
        await page.click("#thresholds-btn")
        await expect(sl_cell).to_have_class("n lvl-alert", timeout=15000)
        await expect(page.locator('.tile[data-stat="service_level"]')).to_have_class(
            "tile lvl-alert"
        )
        assert await sl_cell.evaluate(BACKGROUND) == red
        await shot(page, "service-level-red")
        await set_thresholds(page, "Chat Service", "sl", 80, 40)
        await expect(sl_cell).to_have_class("n lvl-warn", timeout=15000)
        assert await sl_cell.evaluate(BACKGROUND) == amber
        await set_thresholds(page, "Chat Service", "sl", 50, 40)
        await expect(sl_cell).to_have_class("n lvl-ok", timeout=15000)
        assert await sl_cell.evaluate(BACKGROUND) not in (amber, red)
        # the totals keep their own (default) thresholds
        await expect(page.locator('.tile[data-stat="service_level"]')).to_have_class(
            "tile lvl-alert"
        )
        await shot(page, "service-level-green")

        # the day chart: zoomed to hours that contain the day's data, and drawing it
        await page.reload()
        await page.wait_for_selector("#conn.on")
        await page.wait_for_function(
            "document.querySelector('#chart path.sl') &&"
            " document.querySelectorAll('#chart rect.queue').length > 0",
            timeout=15000,
        )
        span = await page.evaluate(
            "(() => { const c = document.querySelector('#chart');"
            " return [Number(c.dataset.from), Number(c.dataset.to)]; })()"
        )
        history = await page.evaluate(
            "async () => (await fetch('/statsapi/history', {credentials: 'same-origin'})).json()"
        )
        with_data = [
            int(p["time"])
            for p in history["points"]
            if int(p["queue_length"] or 0) > 0 or p["service_level"] != ""
        ]
        assert with_data, history
        assert span[1] - span[0] < 24 * 3600, span
        bucket = int(history["bucket_seconds"])
        assert all(span[0] <= t and t + bucket <= span[1] for t in with_data), (span, with_data)
        bars = await page.eval_on_selector_all(
            "#chart rect.queue", "(rs) => rs.map((r) => Number(r.getAttribute('x')))"
        )
        assert bars and all(CHART_LEFT <= x <= CHART_RIGHT for x in bars), bars
        line = await page.get_attribute("#chart path.sl", "d") or ""
        xs = [float(v) for v in re.findall(r"[ML]([\d.]+) ", line)]
        assert xs and all(CHART_LEFT <= x <= CHART_RIGHT for x in xs), line
        await shot(page, "day-chart")


async def test_wallboard_accessibility(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    rt: Runtime,
    shot: Shots,
) -> None:
    """No serious or critical axe-core violation on the login form, the board with data,
    the thresholds form and an agent's dialog."""
    server = live_server_factory(demo_tenant=tenant.domain, stats_refresh_seconds=0.2)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as http:
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await page.goto(server.base_url + "/wallboard/")
        await page.wait_for_selector("#login-form", state="visible")
        assert await serious_violations(page) == []
        await page.wait_for_function(
            f"document.querySelector('#tenant').value === {tenant.domain!r}"
        )
        await page.fill("#login", "supervisor1")
        await page.fill("#password", PASSWORD)
        await page.click("#login-btn")
        await page.wait_for_selector("#conn.on", timeout=15000)
        await agent_login(http, tenant, "agent2", state="not_ready")
        await customer_chat(rt, http, tenant, "a11y-wb")
        await page.wait_for_selector(cell("Chat Service", "in_calls_waiting") + ".lvl-warn")
        await page.wait_for_selector('#agents tr[data-login="agent2"]')
        assert await serious_violations(page) == []
        await page.click("#thresholds-btn")
        await page.wait_for_selector("#thresholds-table input")
        assert await serious_violations(page) == []
        await page.click("#thresholds-btn")
        await page.click('#agents tr[data-login="agent2"] button.manage')
        await page.wait_for_selector("#agent-dialog[open]")
        await shot(page, "agent-dialog")
        assert await serious_violations(page) == []
