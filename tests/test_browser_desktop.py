"""The agent desktop in headless Chromium against a live server, as an agent works a day
(issue 13): each defect of the issue and each new flow. Screenshots are kept after the
run in ``var/screenshots/test_browser_desktop/<test>/``; the accessibility checks use
axe-core and are reported as skipped when it is missing (tests/test_browser_support.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from tests.conftest import OFFER_WAIT_MS, PASSWORD, LiveServer, TenantInfo, get_token
from tests.test_agent_support import (
    API,
    MSG,
    auth,
    configure,
    customer_log,
    customer_sends,
    entry_for,
    mobile_headers,
    new_chat,
    wait_for,
)
from tests.test_browser_support import (
    ARGS,
    CHROMIUM,
    Axe,
    Shots,
    needs_chromium,
    serious_violations,
)

STATS = "/statsapi"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


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
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as c:
        yield c


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots.for_test(request)


@pytest.fixture
def axe() -> Axe:
    return Axe()


# a page that can be put "in the background", and that records notifications
BACKGROUND_SCRIPT = """
window.__vis = 'visible';
Object.defineProperty(document, 'visibilityState', {get: () => window.__vis});
Object.defineProperty(document, 'hidden', {get: () => window.__vis !== 'visible'});
window.__notes = [];
class FakeNotification {
  constructor(title, opts) { window.__notes.push({title, body: (opts || {}).body}); }
  close() {}
  static get permission() { return 'granted'; }
  static requestPermission() { return Promise.resolve('granted'); }
}
window.Notification = FakeNotification;
"""


async def desktop(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    login: str = "agent1",
    *,
    ready: bool = True,
    size: tuple[int, int] = (1366, 768),
) -> Any:
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    await ctx.add_init_script(BACKGROUND_SCRIPT)
    page = await ctx.new_page()
    await page.goto(server.base_url + "/agent/?tenant=" + tenant.domain)
    await page.fill("#login", login)
    await page.fill("#password", PASSWORD)
    await page.click("#login-btn")
    await page.wait_for_selector("#conn.on")
    if ready:
        await page.select_option("#state-select", "ready")
        await page.wait_for_selector("#state.ready")
    return page


async def accept_next(page: Any) -> None:
    await page.wait_for_selector("#offers li button.accept", timeout=OFFER_WAIT_MS)
    await page.click("#offers li button.accept")
    await page.wait_for_selector("#offers li", state="detached")


async def visible(page: Any, selector: str) -> bool:
    return bool(await page.is_visible(selector))


# ---- defect 1: the hidden attribute, and the desk fits 1366x768 and 1280x800 ----------

WITHIN_VIEWPORT = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
    && r.right <= window.innerWidth && r.bottom <= window.innerHeight;
}"""


@pytest.mark.parametrize("size", [(1366, 768), (1280, 800)], ids=["1366x768", "1280x800"])
async def test_login_form_goes_away_and_the_desk_fits(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
    axe: Axe,
    size: tuple[int, int],
) -> None:
    """Logged in, the login form is gone; with a chat open, the chat box, Send, End and
    the disposition are on screen and the page itself does not scroll."""
    await configure(rt, tenant, acw_seconds=60)
    page = await desktop(browser, server, tenant, size=size)
    assert not await visible(page, "#login-view")
    assert not await visible(page, "#login-form")
    client = f"fit-{size[0]}"
    await new_chat(rt, http, tenant, client, parameters={"FIRST_NAME": "Fay", "LAST_NAME": "Fit"})
    await accept_next(page)
    await page.wait_for_selector("#send-btn", state="visible")
    assert await page.evaluate("[innerWidth, innerHeight]") == list(size)
    for sel in ("#send-btn", "#msg-input", "#end-btn", "#disposition"):
        assert await page.evaluate(WITHIN_VIEWPORT, sel), (
            sel,
            await page.locator(sel).bounding_box(),
        )
    assert await page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    assert await page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    await shot(page, f"desk-{size[0]}x{size[1]}")
    # and it works at that size: a message typed in the box goes out with Send
    await page.fill("#msg-input", "Hello from a small screen")
    await page.click("#send-btn")
    await page.wait_for_selector("#log li.me >> text=Hello from a small screen")
    assert await page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    await axe.check(page, "desk with a chat")
    axe.verdict()


# ---- defect 2: the tenant is prefilled with a real tenant ----------------------------


async def test_login_prefills_the_tenant(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    shot: Shots,
) -> None:
    server = live_server_factory(demo_tenant=tenant.domain)
    page = await browser.new_page()
    await page.goto(server.base_url + "/agent/")
    await page.wait_for_function(f"document.querySelector('#tenant').value === {tenant.domain!r}")
    assert await page.input_value("#tenant") != "127.0.0.1"
    await page.fill("#login", "agent1")
    await page.fill("#password", PASSWORD)
    await page.click("#login-btn")
    await page.wait_for_selector("#conn.on")
    await shot(page, "prefilled-login")
    # a wrong password says why, on the form
    await page.click("#logout-btn")
    await page.wait_for_selector("#login-form", state="visible")
    await page.fill("#login", "agent1")
    await page.fill("#password", "wrong")
    await page.click("#login-btn")
    await page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
    await shot(page, "wrong-password")


# ---- defect 3: ghost agents ----------------------------------------------------------


async def test_closed_desktop_is_not_ready_then_logged_out(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    shot: Shots,
) -> None:
    server = live_server_factory(
        agent_disconnect_grace_seconds=1, agent_disconnect_logout_seconds=3
    )
    page = await desktop(browser, server, tenant)
    token = await page.evaluate("sessionStorage.getItem('sb.token')")
    await page.context.close()  # the browser is closed
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:

        async def state() -> dict[str, Any]:
            r = await http.get(API + "/state", headers=auth(token))
            body: dict[str, Any] = r.json()
            return body

        async def disconnected() -> bool:
            return (await state()).get("reason") == "Disconnected"

        await wait_for(disconnected, timeout=15)

        async def logged_out() -> bool:
            return (await state())["state"] == "logged_out"

        await wait_for(logged_out, timeout=15)


async def test_supervisor_logs_the_agent_out_of_the_desktop(
    browser: Any, server: LiveServer, tenant: TenantInfo, http: httpx.AsyncClient, shot: Shots
) -> None:
    page = await desktop(browser, server, tenant)
    r = await http.post(
        STATS + "/auth",
        json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
    )
    sup = auth(r.json()["token"])
    r = await http.put(
        STATS + "/agents/agent1/state",
        json={"state": "not_ready", "reason": "Meeting"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    await page.wait_for_selector("#state.not_ready >> text=Meeting")
    r = await http.put(STATS + "/agents/agent1/state", json={"state": "logged_out"}, headers=sup)
    assert r.status_code == 200, r.text
    await page.wait_for_selector("#login-form", state="visible")
    assert "logged out" in (await page.text_content("#login-error") or "")
    await shot(page, "logged-out-by-supervisor")


# ---- defect 4: after a transfer ------------------------------------------------------


async def test_transfer_leaves_nothing_behind_and_names_everyone(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    await configure(rt, tenant, acw_seconds=120)
    first = await desktop(browser, server, tenant, "agent1")
    second = await desktop(browser, server, tenant, "agent2")
    chat_id = await new_chat(
        rt, http, tenant, "xfer-1", parameters={"FIRST_NAME": "Tess", "LAST_NAME": "Transfer"}
    )
    # whoever gets it first: agent1 must, agent2 is not ready until then
    await second.select_option("#state-select", "not_ready:")
    await accept_next(first)
    await customer_sends(
        rt, tenant, chat_id, "xfer-1", {"event": "chat_session_message", "msg": "before"}, http=http
    )
    await first.wait_for_selector("#log li.msg >> text=before")
    await first.fill("#msg-input", "Passing you to a colleague")
    await first.keyboard.press("Enter")
    await first.wait_for_selector("#log li.me >> text=Passing you to a colleague")
    await second.select_option("#state-select", "ready")
    await second.wait_for_selector("#state.ready")
    await first.click("#tools summary")
    await first.fill("#transfer-agent", "agent2")
    await first.click("#transfer-agent-btn")
    await first.wait_for_selector("#complete-btn", state="visible")
    await accept_next(second)
    await second.wait_for_selector("#log li.msg >> text=before")
    await second.fill("#msg-input", "Agent two here")
    await second.keyboard.press("Enter")
    await customer_sends(
        rt, tenant, chat_id, "xfer-1", {"event": "chat_session_message", "msg": "after"}, http=http
    )
    await second.wait_for_selector("#log li.msg >> text=after")
    # the first desktop has read everything of the chat (its cursor is past the last event)
    last = len(await customer_log(rt, chat_id))
    await first.wait_for_function(
        "([chat, seq]) => { const m = (sessionStorage.getItem('sb.cursor') || '')"
        ".match(new RegExp('c' + chat + ':(\\\\d+)')); return !m || Number(m[1]) >= seq; }",
        arg=[chat_id, last],
    )
    log1 = await first.text_content("#log") or ""
    assert "before" in log1 and "Agent two here" not in log1 and "after" not in log1
    # names: the customer's, the colleagues', never "A party left"
    log2 = await second.text_content("#log") or ""
    assert "A party left" not in log2
    assert re.search(r"Alice[^·]*left", log2), log2
    # in the chat's order, though the live frames came before the history
    assert log2.index("before") < log2.index("Alice Agent left") < log2.index("You joined")
    who = await second.locator("#log li.msg .who").all_text_contents()
    assert any(w.startswith("Tess Transfer ·") for w in who), who
    assert any(w.startswith("Alice") for w in who), who
    assert any(w.startswith("You ·") for w in who), who
    await shot(first, "transfer-first-agent")
    await shot(second, "transfer-second-agent")
    await first.select_option("#disposition", "Follow-up needed")
    await first.click("#complete-btn")
    await first.wait_for_selector("#tabs li", state="detached")


# ---- defect 5: per-chat disposition, notes and draft; a required disposition ---------


async def test_per_chat_state_and_required_disposition(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    await configure(rt, tenant, acw_seconds=120)
    page = await desktop(browser, server, tenant)
    await new_chat(rt, http, tenant, "pc-a", parameters={"FIRST_NAME": "Ann", "LAST_NAME": "A"})
    await accept_next(page)
    await new_chat(rt, http, tenant, "pc-b", parameters={"FIRST_NAME": "Ben", "LAST_NAME": "B"})
    await accept_next(page)
    await page.click("#tabs li >> text=Ann A")
    await page.wait_for_function("document.querySelector('#disposition').options.length > 1")
    await page.select_option("#disposition", "Resolved")
    await page.fill("#notes", "note for Ann")
    await page.fill("#msg-input", "draft for Ann")
    await page.click("#tabs li >> text=Ben B")
    await page.wait_for_selector("#chat-title >> text=Ben B")
    assert await page.input_value("#disposition") == ""
    assert await page.input_value("#notes") == ""
    assert await page.input_value("#msg-input") == ""
    await page.click("#tabs li >> text=Ann A")
    await page.wait_for_selector("#chat-title >> text=Ann A")
    assert await page.input_value("#disposition") == "Resolved"
    assert await page.input_value("#notes") == "note for Ann"
    assert await page.input_value("#msg-input") == "draft for Ann"
    # Ben's chat ends without a disposition: it cannot be finished without one
    await page.click("#tabs li >> text=Ben B")
    await page.click("#end-btn")
    await page.wait_for_selector("#complete-btn", state="visible")
    await page.click("#complete-btn")
    await page.wait_for_selector("#wrap-error >> text=Choose a disposition")
    assert await page.locator("#tabs li >> text=Ben B").count() == 1
    await shot(page, "disposition-required")
    await page.select_option("#disposition", "Resolved")
    await page.click("#complete-btn")
    await page.wait_for_selector("#tabs li >> text=Ben B", state="detached")
    await page.wait_for_selector("#chat-title >> text=Ann A")
    assert await page.input_value("#notes") == "note for Ann"


# ---- defect 6: team messages ---------------------------------------------------------


async def test_team_messages_reach_the_desktop(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    http: httpx.AsyncClient,
    shot: Shots,
    axe: Axe,
) -> None:
    page = await desktop(browser, server, tenant, ready=False)
    r = await http.post(
        STATS + "/auth",
        json={"tenant_url": tenant.domain, "username": "supervisor1", "password": PASSWORD},
    )
    sup = auth(r.json()["token"])
    r = await http.post(
        STATS + "/chat_messages",
        json={"content": "Long queue: please go ready", "is_urgent": True},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    await page.wait_for_selector("#team-messages li.urgent >> text=Long queue: please go ready")
    await page.wait_for_selector("#toast.show")
    await shot(page, "team-message")
    await axe.check(page, "team message")
    axe.verdict()


# ---- defect 7: timestamps, links, files, the attach icon -----------------------------


async def test_times_links_and_files_both_ways(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
    tmp_path: Path,
) -> None:
    await configure(rt, tenant, acw_seconds=60)
    page = await desktop(browser, server, tenant)
    chat_id = await new_chat(rt, http, tenant, "files-1")
    await accept_next(page)
    await customer_sends(
        rt,
        tenant,
        chat_id,
        "files-1",
        {"event": "chat_session_message", "msg": "See https://example.com/help?x=1, thanks"},
        http=http,
    )
    await page.wait_for_selector('#log a[href="https://example.com/help?x=1"]')
    for who in await page.locator("#log li.msg .who").all_text_contents():
        assert re.search(r"\d{1,2}:\d{2}", who), who
    # the attach button is an icon with a name, not an emoji glyph
    assert await page.locator("#attach-btn svg").count() == 1
    assert (await page.get_attribute("#attach-btn", "aria-label")) == "Attach a file"
    assert not re.search(r"[\U0001F300-\U0001FAFF]", await page.inner_text("#compose"))
    doc = tmp_path / "invoice.txt"
    doc.write_text("invoice 42")
    await page.set_input_files("#file-input", str(doc))

    async def file_sent() -> bool:
        return any(e["event"] == "chat_session_file" for e in await customer_log(rt, chat_id))

    await wait_for(file_sent)
    await page.wait_for_selector("#log li.me a.file >> text=invoice.txt")
    # a file from the customer: downloadable from the log
    r = await http.post(
        "/clientweb/api/v2/files",
        params={"tenantUrl": tenant.domain},
        files={"file": ("photo.txt", b"from the customer", "text/plain")},
        headers={
            "Authorization": 'MOBILE-API-140-327-PLAIN appId="test", clientId="files-1"',
            "UserAgent": "MobileClient",
        },
    )
    assert r.status_code == 200, r.text
    if True:
        file_id = r.json().get("file_id")
        await customer_sends(
            rt,
            tenant,
            chat_id,
            "files-1",
            {"event": "chat_session_file", "file_id": file_id},
            http=http,
        )
        link = page.locator("#log li.msg:not(.me) a.file")
        await link.wait_for()
        async with page.expect_download() as dl:
            await link.click()
        download = await dl.value
        saved = tmp_path / "downloaded"
        await download.save_as(str(saved))
        assert saved.read_bytes() == b"from the customer"
    await shot(page, "times-links-files")


# ---- the customer's rich events ------------------------------------------------------


async def test_rich_customer_events(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    page = await desktop(browser, server, tenant)
    chat_id = await new_chat(rt, http, tenant, "rich-1")
    await accept_next(page)
    await customer_sends(
        rt,
        tenant,
        chat_id,
        "rich-1",
        {"event": "chat_session_location", "latitude": "48.8584", "longitude": "2.2945"},
        {"event": "chat_session_navigation", "page": "https://shop.example/cart", "title": "Cart"},
        {
            "event": "chat_session_form_data",
            "form_name": "MobileChatCustomerData",
            "data": {"email": "c@example.com", "plan": "Gold"},
        },
        {"event": "chat_session_secure_form_data", "form_name": "Card", "data": {"pan": "4111"}},
        http=http,
    )
    await page.wait_for_selector('#log a[href*="openstreetmap.org"][href*="48.8584"]')
    await page.wait_for_selector('#log a[href="https://shop.example/cart"] >> text=Cart')
    await page.wait_for_selector("#log table.form-data td >> text=Gold")
    await page.wait_for_selector("#log >> text=content not shown")
    assert "4111" not in (await page.text_content("#log") or "")
    # the agent requests the customer's form
    await page.click("#tools summary")
    await page.click("#form-btn")
    await page.wait_for_selector("#log >> text=Form requested: MobileChatCustomerData")

    async def form_shown() -> bool:
        log = await customer_log(rt, chat_id)
        return any(e["event"] == "chat_session_form_show" for e in log)

    await wait_for(form_shown)
    await shot(page, "rich-events")


# ---- co-browsing ----------------------------------------------------------------------


async def test_cobrowsing_shown_to_the_agent(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    """The customer's co-browsing events, sent through the Messaging API as the widget
    sends them: the session's link opens in a new tab; a link other than http(s) is
    never made clickable; a declined request and the end of the session are said."""
    page = await desktop(browser, server, tenant)
    chat_id = await new_chat(rt, http, tenant, "cob-1")
    await accept_next(page)
    session = "https://cobrowse.example/s/8f2c?role=agent"
    await customer_sends(
        rt,
        tenant,
        chat_id,
        "cob-1",
        {"event": "chat_session_cobrowsing_rejected"},
        {
            "event": "chat_session_cobrowsing_started",
            "provider_type": "demo",
            "cobrowsing_url": session,
        },
        http=http,
    )
    await page.wait_for_selector("#log li.sys >> text=The customer declined co-browsing")
    started = page.locator("#log li.sys", has_text="Co-browsing started")
    await started.wait_for()
    opened = started.locator("a")
    assert await opened.text_content() == "open session"
    assert await opened.get_attribute("href") == session
    assert await opened.get_attribute("target") == "_blank"
    assert "noopener" in (await opened.get_attribute("rel") or "")
    await customer_sends(
        rt,
        tenant,
        chat_id,
        "cob-1",
        {"event": "chat_session_cobrowsing_ended"},
        {"event": "chat_session_cobrowsing_started", "cobrowsing_url": "javascript:alert(1)"},
        http=http,
    )
    await page.wait_for_selector("#log li.sys >> text=Co-browsing ended")
    await page.wait_for_function(
        "document.querySelectorAll('#log li.sys').length > 0 && [...document.querySelectorAll"
        "('#log li.sys')].filter((li) => li.textContent.includes('Co-browsing started'))"
        ".length === 2"
    )
    assert await started.nth(1).locator("a").count() == 0
    assert await page.locator('#log a[href^="javascript"]').count() == 0
    # in the chat's order, as the customer's client sees them
    text = await page.text_content("#log") or ""
    order = ["declined co-browsing", "Co-browsing started", "Co-browsing ended"]
    assert [text.index(t) for t in order] == sorted(text.index(t) for t in order), text
    await shot(page, "cobrowsing")


# ---- canned responses, shortcuts, background notifications ---------------------------


async def test_canned_responses_and_keyboard(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    await configure(rt, tenant, acw_seconds=60)
    token = await get_token(http, tenant)
    r = await http.post(
        "/adminapi/v1/canned-responses",
        json={
            "title": "Zebra welcome",
            "text": "Hello $(FIRST_NAME), thanks for waiting!",
            "shortcut": "/hi",
            "category": "Openers",
        },
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    await http.post(
        "/adminapi/v1/canned-responses",
        json={"title": "Refund policy", "text": "Refunds take 5 days."},
        headers=auth(token),
    )
    page = await desktop(browser, server, tenant)
    chat_id = await new_chat(
        rt, http, tenant, "kb-1", parameters={"FIRST_NAME": "Kim", "LAST_NAME": "Keys"}
    )
    await page.wait_for_selector("#offers li button.accept", timeout=OFFER_WAIT_MS)
    await page.keyboard.press("Alt+A")  # accept
    await page.wait_for_selector("#chat-title >> text=Kim Keys")
    await page.keyboard.press("Alt+C")  # canned responses
    await page.wait_for_selector("#canned-q:focus")
    await page.keyboard.type("zebra")
    await page.wait_for_selector("#canned-list li >> text=Hello Kim, thanks for waiting!")
    await page.wait_for_function(
        "document.querySelectorAll('#canned-list li[role=option]').length === 1"
    )
    await shot(page, "canned")
    await page.keyboard.press("Enter")
    assert await page.input_value("#msg-input") == "Hello Kim, thanks for waiting!"
    await page.keyboard.press("Enter")  # send

    async def sent() -> bool:
        log = await customer_log(rt, chat_id)
        return any(e.get("msg") == "Hello Kim, thanks for waiting!" for e in log)

    await wait_for(sent)
    # a shortcut, then Tab
    await page.fill("#msg-input", "Hi! /hi")
    await page.focus("#msg-input")
    await page.keyboard.press("Tab")
    await page.wait_for_function(
        "document.querySelector('#msg-input').value === 'Hi! Hello Kim, thanks for waiting!'"
    )
    await page.keyboard.press("Alt+E")  # end
    await page.wait_for_selector("#complete-btn", state="visible")
    await page.select_option("#disposition", "Resolved")
    await page.keyboard.press("Alt+D")  # done
    await page.wait_for_selector("#tabs li", state="detached")


async def test_background_tab_title_and_notifications(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    page = await desktop(browser, server, tenant)
    await page.evaluate(
        "window.__vis = 'hidden'; document.dispatchEvent(new Event('visibilitychange'))"
    )
    chat_id = await new_chat(
        rt, http, tenant, "bg-1", parameters={"FIRST_NAME": "Nia", "LAST_NAME": "Note"}
    )
    await page.wait_for_function("document.title.startsWith('(1)')")
    await page.wait_for_function("window.__notes.some(n => n.title.includes('Nia Note'))")
    # the offer counts down its seconds
    assert re.fullmatch(r"\d+ s", await page.text_content("#offers .countdown") or "")
    await page.click("#offers li button.accept")
    await page.wait_for_selector("#chat-title >> text=Nia Note")
    await customer_sends(
        rt, tenant, chat_id, "bg-1", {"event": "chat_session_message", "msg": "Anyone?"}, http=http
    )
    await page.wait_for_function("window.__notes.some(n => n.body === 'Anyone?')")
    await page.wait_for_function("document.title.includes('New message')")
    # back in the foreground: read, and the title is plain again
    await page.evaluate(
        "window.__vis = 'visible'; document.dispatchEvent(new Event('visibilitychange'))"
    )
    await page.wait_for_function("document.title === 'Switchboard · Agent desktop'")

    async def read() -> bool:
        return any(
            e["event"] == "chat_session_message_read" for e in await customer_log(rt, chat_id)
        )

    await wait_for(read)
    await shot(page, "background")


async def test_desk_accessibility(
    browser: Any,
    server: LiveServer,
    tenant: TenantInfo,
    rt: Runtime,
    http: httpx.AsyncClient,
    shot: Shots,
) -> None:
    """No serious or critical axe-core violation on the login form (also with its error),
    the desk with a chat, and its canned responses panel."""
    page = await browser.new_page()
    await page.goto(server.base_url + "/agent/?tenant=" + tenant.domain)
    await page.wait_for_selector("#login-form")
    assert await serious_violations(page) == []
    await page.fill("#login", "agent1")
    await page.fill("#password", "wrong")
    await page.click("#login-btn")
    await page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
    assert await serious_violations(page) == []
    page = await desktop(browser, server, tenant)
    await new_chat(rt, http, tenant, "a11y-1")
    await accept_next(page)
    assert await serious_violations(page) == []
    await page.click("#tools summary")
    await page.click("#canned-btn")
    await page.wait_for_selector("#canned-q:focus")
    await shot(page, "canned-panel")
    assert await serious_violations(page) == []


async def test_demo_chat_page_accessibility(
    browser: Any, server: LiveServer, tenant: TenantInfo, shot: Shots
) -> None:
    """The customer's side, the demo chat page (``/chat/``): no serious or critical
    axe-core violation on its pre-chat form, nor in a chat an agent answered."""
    agent = await desktop(browser, server, tenant)
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await page.goto(f"{server.base_url}/chat/?tenantUrl={tenant.domain}")
    await page.wait_for_selector("#prechat", state="visible")
    assert await serious_violations(page) == []
    await page.fill("input[name=FIRST_NAME]", "Ada")
    await page.fill("textarea[name=message]", "Is this page accessible?")
    await page.click("#prechat button[type=submit]")
    await accept_next(agent)
    await page.wait_for_selector("#log li.info:has-text('joined')", timeout=15000)
    await agent.fill("#msg-input", "It should be: https://example.com/a11y")
    await agent.keyboard.press("Enter")
    await page.wait_for_selector("#log >> text=It should be")
    await shot(page, "demo-chat")
    assert await serious_violations(page) == []


# ---- the outbound preview flow -------------------------------------------------------


async def test_outbound_preview_flow(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    shot: Shots,
    axe: Axe,
) -> None:
    server = live_server_factory(
        telephony_sim_ring_seconds=0,
        telephony_sim_outcomes='{"answer": 1.0}',
        dialer_poll_seconds=0.2,
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        admin = auth(await get_token(http, tenant))
        every_day = {
            d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
        r = await http.put(
            "/configapi/v2/campaign/Outbound Campaign",
            json={"callingHours": every_day, "previewTimeoutSeconds": 120},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        page = await desktop(browser, server, tenant, "agent2")
        r = await http.post("/configapi/v2/campaign/Outbound Campaign/start", headers=admin)
        assert r.status_code == 200, r.text
        await page.wait_for_selector("#outbound #ob-record >> text=Graham", timeout=20000)
        await page.wait_for_selector("#ob-state >> text=offered")
        await page.wait_for_function("document.title.startsWith('(1)')")
        await shot(page, "outbound-preview")
        # skip the first record (Alt+X), call the next one (Alt+A)
        first = await page.text_content("#ob-record")
        await page.keyboard.press("Alt+X")
        await page.wait_for_function(
            "(first) => { const r = document.querySelector('#ob-record');"
            " return !document.querySelector('#outbound').hidden && r.textContent !== first; }",
            arg=first,
            timeout=20000,
        )
        await page.wait_for_selector("#ob-state >> text=offered")
        await page.keyboard.press("Alt+A")
        await page.wait_for_selector("#ob-hangup", state="visible", timeout=20000)
        await page.wait_for_selector("#ob-state >> text=connected", timeout=20000)
        await page.click("#ob-hangup")
        await page.wait_for_selector("#ob-wrap", state="visible")
        await page.wait_for_function("document.querySelector('#ob-disposition').options.length > 1")
        await shot(page, "outbound-wrapup")
        await axe.check(page, "outbound after-call form")
        names = await page.locator("#ob-disposition option").all_text_contents()
        choice = next(n for n in names if n and not n.startswith("—") and n != "Do not call")
        await page.select_option("#ob-disposition", label=choice)
        await page.fill("#ob-notes", "called from the desktop")
        await page.click("#ob-done")
        # the after-call form goes: the panel closes, or shows the next record when the
        # dialer (polling every 0.2 s here) already offers one
        await page.wait_for_selector("#ob-wrap", state="hidden")
    axe.verdict()


async def test_demo_chat_page_typing_indicator(
    browser: Any, server: LiveServer, tenant: TenantInfo, shot: Shots
) -> None:
    """The customer sees the agent typing while they type; the message clears it, and
    a page reloaded in the middle of the chat shows no typing replayed from history."""
    agent = await desktop(browser, server, tenant)
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    await page.goto(f"{server.base_url}/chat/?tenantUrl={tenant.domain}")
    await page.wait_for_selector("#prechat", state="visible")
    await page.fill("input[name=FIRST_NAME]", "Ada")
    await page.fill("textarea[name=message]", "Anyone there?")
    await page.click("#prechat button[type=submit]")
    await accept_next(agent)
    await page.wait_for_selector("#log li.info:has-text('joined')", timeout=15000)
    await agent.type("#msg-input", "Yes, ")
    await page.wait_for_selector("#typing:has-text('is typing')", state="visible")
    await shot(page, "agent-typing")
    await agent.type("#msg-input", "I am here")
    await agent.keyboard.press("Enter")
    await page.wait_for_selector("#log >> text=I am here")
    await page.wait_for_selector("#typing", state="hidden")
    # the history holds a typing event: a reload replays it without showing it
    await page.reload()
    await page.wait_for_selector("#log >> text=I am here", timeout=15000)
    assert await page.is_hidden("#typing")


async def test_call_back_from_the_desktop(
    browser: Any,
    live_server_factory: Callable[..., LiveServer],
    tenant: TenantInfo,
    rt: Runtime,
    shot: Shots,
) -> None:
    """A chat whose customer gave a phone number shows "Call back <number>"; the agent
    clicks it and the outbound panel follows the call (the simulator answers) to its
    after-call form. A chat without a number shows no such button."""
    server = live_server_factory(
        telephony_sim_ring_seconds=0, telephony_sim_outcomes='{"answer": 1.0}'
    )
    app_id = await entry_for(rt, tenant)
    page = await desktop(browser, server, tenant)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:

        async def chat(client_id: str, body: dict[str, Any]) -> None:
            r = await http.post(
                MSG + "/chats",
                params={"tenantUrl": tenant.domain},
                json=body,
                headers=mobile_headers(client_id, app_id),
            )
            assert r.status_code == 200, r.text
            await accept_next(page)

        await chat("callback-1", {"parameters": {"FIRST_NAME": "Nona"}})
        await page.wait_for_selector("#chat-title >> text=Nona")
        await page.click("#tools summary")
        assert await page.is_hidden("#callback-btn")
        await chat(
            "callback-2", {"phone_number": "+14155550188", "parameters": {"FIRST_NAME": "Cal"}}
        )
        await page.wait_for_selector("#chat-title >> text=Cal")
        await page.wait_for_selector("#callback-btn >> text=Call back +14155550188")
        await shot(page, "call-back-button")
        await page.click("#callback-btn")
        await page.wait_for_selector("#outbound #ob-record >> text=+14155550188", timeout=20000)
        await page.wait_for_selector("#ob-state >> text=connected", timeout=20000)
        await shot(page, "call-back-connected")
        await page.click("#ob-hangup")
        await page.wait_for_selector("#ob-wrap", state="visible")
