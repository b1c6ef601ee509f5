"""What real clients need of the Messaging API (issue 11), through HTTP, with requests
as the vendor's web widget (chat-client-v4) sends them: ``clientId="WebChat"`` (a cookie
identifies the browser), only the ``Authorization`` header (plus ``Content-Type:
application/json; charset=utf-8`` on bodies), ``?tenantUrl=<encoded>&timestamp=<ms>``,
images loaded as ``<img>`` without any header, and its ``POST chats`` body with object
parameters (``location``, ``user_platform``, ``"undefined": ""``)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from switchboard.app import create_app
from switchboard.chats.models import ChatSession
from switchboard.core.runtime import Runtime
from switchboard.crm.cases import WebhookCrm
from tests.conftest import TenantInfo
from tests.test_messaging_support import (
    V1,
    V2,
    Customer,
    connect_agent,
    error_of,
    update_entry,
)
from tests.test_scim_support import PNG, patch_body, photo_server, scim_headers

__all__ = ["photo_server"]

ORIGIN = "http://127.0.0.1:8080"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
CSS_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")

# every key of seed 003's "Get Chat Widget Configuration" example, by object
SEED_STYLING_KEYS = """title showAgentPic width height color textColor style tabStyle
channelHoppingEnabled cobrowsing widgetMinimizationEnabled remoteEditing emojiSelector
enableClientSideChatHistory fileUploadEnabled webNotificationsEnabled videoCallEnabled
visitorVideoEnabled inactivityWarningMessage inactivityTimeoutMessage agentJoinedMessage
agentLeftMessage sessionEndedMessage socialInviteMessage endSessionDialogText requiredField
refersToRequiredFields invalidInputField notificationsPrompt allowMicroPrompt
allowMicroVideoPrompt cobrowsingDialogText cobrowsingDialogHeader cobrowsingDialogAcceptLabel
cobrowsingDialogCancelLabel sessionCompletedWidgetTitle agentTypingIndicator
replyFromMessageText justNowMessageArrivalTimeIndicator minutesAgoMessageArrivalTimeIndicator
hoursAgoMessageArrivalTimeIndicator daysAgoMessageArrivalTimeIndicator
someTimeAgoMessageArrivalTimeIndicator hintMessageTextBox showChatTooltip endChatTooltip
minimizeChatTooltip shareScreenTooltip webRtcCallTooltip webRtcSwitchVideoTooltip
webRtcEndCallTooltip emojiTooltip sendFileTooltip minimizedDismissMessagesTooltip
screenSharingRequestedMessageText screenSharingEndedMessageText clickToStartCobrowsingPrompt
cobrowsingRequestedMessageText cobrowsingRejectedMessageText cobrowsingStartedMessageText
cobrowsingEndedMessageText cameraNotDetectedText microNotDetectedText surveyFormTitle
surveyFormWasIssueResolvedQuestion surveyFormWasIssueResolvedPositiveAnswer
surveyFormWasIssueResolvedNegativeAnswer surveyFormContactSatisfactionQuestion
surveyFormNetPromoterScoreQuestion surveyFormSendChatTranscriptQuestion
surveyFormEmailFieldLabel surveyFormEmailValidationErrorText fileUploadBlockedErrorText""".split()
SEED_INITIATION_KEYS = ["id", "name", "contactTab", "preChat", "leaveMessage", "urls"]
SEED_CONTACT_TAB_KEYS = """enabled location agentsAvailableMsg agentsNotAvailableMsg
outOfHoursMsg doNotShowAfterHours doNotShowAfterEWTThreshold""".split()
SEED_PRE_CHAT_KEYS = """enabled title chatButtonEnabled chatButtonText callButtonEnabled
callButtonText cancelButtonEnabled cancelButtonText commonFields phoneFields
chatFields""".split()
SEED_LEAVE_MESSAGE_KEYS = ["title", "okButtonText", "cancelButtonText", "fields"]
SEED_DEFINITION_LISTS = ["chatInitiations", "proactiveOffers", "onPageForms", "forms"]
SEED_STYLE_KEYS = """contentMargin titleFont contactTabFont systemMessage agentMessage
clientMessage widgetBorder widgetBorderRadius contactTabBorder widgetBackground baseFont
dialogShadow""".split()


class Widget:
    """One browser running chat-client-v4: a cookie jar of its own, and the requests the
    widget's ``chatApiSessionSendXhr`` makes."""

    def __init__(self, http: httpx.AsyncClient, tenant: TenantInfo, version: str = V2) -> None:
        self.http = http
        self.tenant = tenant
        self.base = version
        self.chat_id = ""

    def url(self, endpoint: str) -> str:
        stamp = str(int(time.time() * 1000))
        return f"{self.base}/{endpoint}?tenantUrl={self.tenant.domain}&timestamp={stamp}"

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": 'MOBILE-API-140-327-PLAIN appId="test", clientId="WebChat"',
            "Origin": ORIGIN,
            "User-Agent": BROWSER,
        }

    async def get(self, endpoint: str) -> httpx.Response:
        return await self.http.get(self.url(endpoint), headers=self.headers)

    async def post(self, endpoint: str, data: Any = None) -> httpx.Response:
        if data is None:
            return await self.http.post(self.url(endpoint), headers=self.headers)
        return await self.http.post(
            self.url(endpoint),
            headers={**self.headers, "Content-Type": "application/json; charset=utf-8"},
            content=json.dumps(data).encode(),
        )

    async def start(self, **parameters: Any) -> dict[str, Any]:
        r = await self.post("chats", widget_chat_body(**parameters))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        self.chat_id = body["chat_id"]
        return body

    async def send(self, event: dict[str, Any]) -> httpx.Response:
        return await self.post(f"chats/{self.chat_id}/events", {"events": [event]})

    async def poll(self) -> list[dict[str, Any]]:
        r = await self.get(f"chats/{self.chat_id}/events")
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events

    async def history(self) -> list[dict[str, Any]]:
        r = await self.get(f"chats/{self.chat_id}/history")
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()["events"]
        return events


def widget_chat_body(**parameters: Any) -> dict[str, Any]:
    """``POST chats`` as the widget sends it after its pre-chat form."""
    return {
        "phone_number": "",
        "from": "",
        "parameters": {
            "email": "ann@example.com",
            "last_name": "",
            "first_name": "Ann",
            "account_number": "",
            "phone_number": "",
            "subject": "My order",
            "logging": "",
            "location": {},
            "user_platform": {
                "browser": "Chrome 120.0.6099.109",
                "os": "Linux 64-bit",
                "description": "Chrome 120.0.6099.109 on Linux 64-bit",
            },
            "undefined": "",
            **parameters,
        },
    }


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (its own cookie jar) on the test app."""
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as b:
        yield b


# ---- 1. GET configuration ---------------------------------------------------------------


def check_widget_document(doc: dict[str, Any]) -> None:
    """What chat-client-v4 reads without checking: the shape of seed 003's example."""
    styles = doc["styles"]
    assert isinstance(styles, dict) and styles
    first = next(iter(styles.values()))
    assert isinstance(first, dict)
    assert set(SEED_STYLE_KEYS) <= set(first), set(SEED_STYLE_KEYS) - set(first)
    assert isinstance(first["baseFont"]["font-family"], str)
    definition = doc["definition"]
    for key in SEED_DEFINITION_LISTS:
        assert isinstance(definition[key], list), key
    styling = definition["chatWidgetStyling"]
    assert set(SEED_STYLING_KEYS) <= set(styling), set(SEED_STYLING_KEYS) - set(styling)
    assert styling["style"] in styles
    assert re.fullmatch(r"[0-9a-fA-F]{6}", styling["color"])
    assert isinstance(styling["width"], int) and isinstance(styling["videoCallEnabled"], bool)
    assert definition["chatInitiations"]
    for initiation in definition["chatInitiations"]:
        assert set(SEED_INITIATION_KEYS) <= set(initiation)
        assert set(SEED_CONTACT_TAB_KEYS) <= set(initiation["contactTab"])
        assert set(SEED_PRE_CHAT_KEYS) <= set(initiation["preChat"])
        assert set(SEED_LEAVE_MESSAGE_KEYS) <= set(initiation["leaveMessage"])
        urls = initiation["urls"]
        assert isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls)
        for key in ("commonFields", "phoneFields", "chatFields"):
            assert all(isinstance(f, dict) for f in initiation["preChat"][key])


async def test_configuration_as_the_widget_reads_it(
    browser: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    for version in (V1, V2):
        r = await Widget(browser, tenant, version).get("configuration")
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == ORIGIN
        doc = r.json()
        check_widget_document(doc)
        definition = doc["definition"]
        # the demo entry's short form: title, colour, its expected parameters as fields
        assert definition["chatWidgetStyling"]["title"] == "Chat with us"
        assert definition["chatWidgetStyling"]["color"] == "1f6feb"
        assert definition["switchboard"]["greeting"].startswith("Hello")
        initiation = definition["chatInitiations"][0]
        assert initiation["urls"] == ["/"]
        names = [f.get("name") for f in initiation["preChat"]["commonFields"]]
        assert "FIRST_NAME" in names and initiation["preChat"]["enabled"] is True
        assert definition["proactiveOffers"] == [] and definition["forms"] == []


STORED_SHAPES: list[dict[str, Any]] = [
    {},
    {"inactivityWarningMessage": "Still there?", "videoCallEnabled": True},
    {"chatWidgetStyling": "nonsense", "chatInitiations": "nope", "forms": None, "styles": []},
    {"chatWidgetStyling": {"title": "Shop", "width": "500"}, "proactiveOffers": [1, {"id": "p"}]},
    {
        "definition": {
            "chatWidgetStyling": {"color": "#00aa00", "videoCallEnabled": "yes", "style": "x"},
            "chatInitiations": [
                "junk",
                {"urls": ["/shop", 3], "contactTab": {"location": "bottom_left"}},
                {"urls": "/", "preChat": {"commonFields": [{"formFieldType": "text"}]}},
            ],
            "onPageForms": {"not": "a list"},
            "custom": {"kept": True},
        },
        "styles": {"dark": {"baseFont": {"font-size": "20px"}}, "broken": "x"},
    },
    {"definition": "not an object"},
]


async def test_configuration_keeps_its_shape_whatever_is_stored(
    browser: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    w = Widget(browser, tenant)
    docs = []
    for stored in STORED_SHAPES:
        await update_entry(rt, tenant, widget_configuration=stored)
        r = await w.get("configuration")
        assert r.status_code == 200, (stored, r.text)
        check_widget_document(r.json())
        docs.append(r.json())
    # stored values merged over the defaults, of the default's type
    assert docs[1]["definition"]["chatWidgetStyling"]["inactivityWarningMessage"] == "Still there?"
    assert docs[1]["definition"]["chatWidgetStyling"]["videoCallEnabled"] is True
    assert docs[0]["definition"]["chatWidgetStyling"]["videoCallEnabled"] is False
    assert docs[3]["definition"]["chatWidgetStyling"]["title"] == "Shop"
    assert docs[3]["definition"]["chatWidgetStyling"]["width"] == 500
    assert docs[3]["definition"]["proactiveOffers"] == [{"id": "p"}]
    full = docs[4]
    styling = full["definition"]["chatWidgetStyling"]
    assert styling["color"] == "00aa00" and styling["videoCallEnabled"] is False
    assert list(full["styles"]) == ["dark"] and styling["style"] == "dark"
    assert full["styles"]["dark"]["baseFont"]["font-size"] == "20px"
    assert full["styles"]["dark"]["baseFont"]["font-family"]  # the default's other keys
    first, second = full["definition"]["chatInitiations"]
    assert first["urls"] == ["/shop"] and first["contactTab"]["location"] == "bottom_left"
    assert first["contactTab"]["agentsAvailableMsg"]  # merged over the defaults
    assert second["urls"] == ["/"] and second["preChat"]["commonFields"] == [
        {"formFieldType": "text"}
    ]
    assert full["definition"]["onPageForms"] == []
    assert full["definition"]["custom"] == {"kept": True}


# ---- 2. POST chats with object parameters ------------------------------------------------


async def test_request_chat_with_the_widgets_parameters(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    w = Widget(browser, tenant)
    chat = await w.start()
    assert chat["is_new_chat"] is True and chat["state"] == "queued"
    assert isinstance(chat["ewt"], str)
    seat = await connect_agent(client, rt, tenant, w.chat_id)
    r = await client.get(f"/agentapi/v1/interactions/{seat.interaction_id}", headers=seat.headers)
    params = r.json()["customer"]["parameters"]
    assert params["user_platform"]["os"] == "Linux 64-bit"
    assert params["location"] == {} and params["undefined"] == "" and params["first_name"] == "Ann"

    # bounded: depth and size, answered in the API's error format
    other = Widget(client, tenant)
    deep: Any = "x"
    for _ in range(rt.settings.chat_parameter_max_depth + 1):
        deep = {"d": deep}
    r = await other.post("chats", widget_chat_body(location=deep))
    assert error_of(r) == (400, "5003")
    r = await other.post("chats", widget_chat_body(location=[["x" * 1000]] * 20))
    assert error_of(r) == (400, "5003")
    ok: Any = "x"
    for _ in range(rt.settings.chat_parameter_max_depth - 1):
        ok = [ok]
    r = await other.post("chats", widget_chat_body(location=ok))
    assert r.status_code == 200, r.text


# ---- 3. msg_id: letters, digits, - and _ ------------------------------------------------------


async def test_every_server_made_msg_id_is_css_safe(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    w = Widget(browser, tenant)
    body = widget_chat_body()
    body["initial_message"] = {"event": "chat_session_message", "msg": "first"}
    r = await w.post("chats", body)
    assert r.status_code == 200, r.text
    w.chat_id = r.json()["chat_id"]
    seat = await connect_agent(client, rt, tenant, w.chat_id)
    await seat.say("Hello, how can I help?")
    assert (await w.send({"event": "chat_session_message", "msg": "hi"})).status_code == 200
    # a file as the widget uploads it (FormData field "file-upload-input"), then sent
    r = await browser.post(
        w.url("files"),
        headers=w.headers,
        files={"file-upload-input": ("note.txt", b"hello", "text/plain")},
    )
    assert r.status_code == 200, r.text
    file_id = r.json()["file_id"]
    assert (await w.send({"event": "chat_session_file", "file_id": file_id})).status_code == 200
    r = await client.post(
        f"/agentapi/v1/interactions/{seat.interaction_id}/files",
        json={"file_id": file_id},
        headers=seat.headers,
    )
    assert r.status_code == 200, r.text
    r = await seat.post("forms", {"form_name": "MobileChatCustomerData"})
    assert r.status_code == 200, r.text
    polled = await w.poll()
    events = polled + await w.history()
    ids = [e["msg_id"] for e in events if "msg_id" in e]
    kinds = {e["event"] for e in events if "msg_id" in e}
    assert {"chat_session_message", "chat_session_file"} <= kinds
    assert len(set(ids)) >= 5  # initial message, both messages, both files
    for value in ids:
        # the widget's selector: '#' + sessionId + '-' + msg_id
        assert CSS_SAFE.match(f"{w.chat_id}-{value}"), value
    for e in events:
        for key in ("party_id", "file_id"):
            if key in e:
                assert CSS_SAFE.match(str(e[key])), e


# ---- 4. images without headers ------------------------------------------------------------


async def test_images_load_without_headers(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    w = Widget(browser, tenant)
    await w.start()
    seat = await connect_agent(client, rt, tenant, w.chat_id)
    events = await w.poll()
    scenario_party = next(e["party_id"] for e in events if e["event"] == "chat_session_status")
    for version in (V1, V2):
        # getProfilePhotoUrl: cp.url + '/chats/' + sessionId + '/profilephotos/' + partyId
        base = f"{version}/chats/{w.chat_id}"
        for path in (f"{base}/profilephotos/{seat.party_id}", f"{base}/chaticon"):
            async with httpx.AsyncClient(
                transport=client._transport, base_url="http://testserver"
            ) as img:
                r = await img.get(path, headers={"Accept": "image/avif,image/webp,*/*"})
            assert r.status_code == 200, (path, r.text)
            assert r.headers["content-type"].startswith("image/"), path
            assert r.headers["x-content-type-options"] == "nosniff"
        r = await browser.get(f"{base}/profilephotos/{scenario_party}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/"), r.text
    # the chat id is the credential: an unknown chat has no pictures
    r = await browser.get(f"{V2}/chats/{uuid.uuid4()}/chaticon")
    assert error_of(r) == (404, "5005")


# ---- 5. chat_session_disconnect keeps the session open ----------------------------------------


async def test_disconnect_keeps_the_session_open(
    browser: httpx.AsyncClient, client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    w = Widget(browser, tenant)
    await w.start()
    seat = await connect_agent(client, rt, tenant, w.chat_id)
    await w.poll()
    r = await w.send({"event": "chat_session_disconnect"})
    assert r.status_code == 200, r.text
    assert "chat_session_ended" not in [e["event"] for e in r.json()["events"]]
    # still the open session: polls, history, the active chat, more events
    assert (await w.get(f"chats/{w.chat_id}/events")).status_code == 200
    r = await w.get("chats/active")
    assert r.status_code == 200 and r.json()["chat_id"] == w.chat_id
    r = await w.post("chats", widget_chat_body())
    assert r.json()["chat_id"] == w.chat_id and r.json()["is_new_chat"] is False
    assert (await w.send({"event": "chat_session_typing"})).status_code == 200
    async with rt.db.read() as s:
        chat = await s.get(ChatSession, w.chat_id)
        assert chat is not None and chat.ended_at is None
    # the agent's part of it is over
    r = await client.get(f"/agentapi/v1/interactions/{seat.interaction_id}", headers=seat.headers)
    assert r.json()["mine"]["phase"] == "wrap_up"
    r = await w.send({"event": "chat_session_end"})
    assert r.json()["events"][-1]["event"] == "chat_session_ended"
    assert error_of(await w.get(f"chats/{w.chat_id}/events")) == (404, "5005")


# ---- 6. error codes 5000, 5004, 5511, 5602 ------------------------------------------------------


async def test_5511_no_events(browser: httpx.AsyncClient, tenant: TenantInfo) -> None:
    w = Widget(browser, tenant)
    await w.start()
    for body in ({}, {"events": None}):
        r = await w.post(f"chats/{w.chat_id}/events", body)
        assert error_of(r) == (400, "5511"), body
    # an empty list stays a request for what is new (our clients use it)
    r = await w.post(f"chats/{w.chat_id}/events", {"events": []})
    assert r.status_code == 200 and "events" in r.json()


async def test_5000_chat_server_takes_too_long(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    saved = rt.settings.chat_request_timeout_seconds
    rt.settings.chat_request_timeout_seconds = 0.2
    try:
        # the chat's row is locked (SQLite: the process's writer is busy) until the
        # answer has come: the operation cannot finish in time, whatever the machine
        async with rt.db.write() as s:
            await s.execute(
                select(ChatSession.id).where(ChatSession.id == c.chat_id).with_for_update()
            )
            r = await c.send({"event": "chat_session_message", "msg": "late"})
            assert r.status_code == 504
            assert error_of(r) == (504, "5000")
            assert r.json()["error_message"].startswith("Timeout")
    finally:
        rt.settings.chat_request_timeout_seconds = saved
    # the operation was not cut in half: it finishes once the lock is free
    assert (await c.say("after")) is not None
    history = (await c.get(f"/chats/{c.chat_id}/history")).json()["events"]
    assert [e["msg"] for e in history if e["event"] == "chat_session_message"] == ["late", "after"]


async def test_5004_chat_server_disconnected(rt: Runtime, tmp_path: Path) -> None:
    """A server whose database cannot be reached answers 5004 (not a 500)."""
    if rt.db.is_sqlite:
        url = f"sqlite+aiosqlite:///{tmp_path}/missing/switchboard.db"
    else:
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/switchboard"
    settings = rt.settings.model_copy(update={"database_url": url})
    cut_off = Runtime.create(settings)
    app = create_app(runtime=cut_off)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            for version in (V1, V2):
                r = await http.get(
                    f"{version}/availability",
                    params={"tenantUrl": "example.com", "timestamp": "1"},
                    headers={
                        "Authorization": 'MOBILE-API-140-327-PLAIN appId="test", clientId="W"'
                    },
                )
                assert error_of(r) == (503, "5004"), r.text
                assert r.json()["error_message"] == "Chat server disconnected"
    finally:
        try:
            await cut_off.db.dispose()
        except Exception:
            pass


async def test_5602_crm_server_responded_with_error(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    calls: list[dict[str, Any]] = []
    answers = [503, 200]

    def crm(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(answers.pop(0), json={})

    rt.providers["crm"] = WebhookCrm("http://crm.example/cases", transport=httpx.MockTransport(crm))
    try:
        c = Customer(client, tenant)
        await c.start()
        seat = await connect_agent(client, rt, tenant, c.chat_id)
        r = await client.put(
            f"/agentapi/v1/interactions/{seat.interaction_id}/case",
            json={"case_id": "CASE-77"},
            headers=seat.headers,
        )
        assert r.status_code == 200, r.text
        r = await c.post(f"/chats/{c.chat_id}/closecase")
        assert error_of(r) == (500, "5602")
        async with rt.db.read() as s:
            chat = await s.get(ChatSession, c.chat_id)
            assert chat is not None and chat.case_closed_at is None  # still open
        r = await c.post("/closecase")
        assert r.status_code == 200 and r.json() == {}
        r = await c.post("/closecase")  # closed already: the CRM is not asked again
        assert r.status_code == 200
        assert (
            calls
            == [
                {
                    "action": "close_case",
                    "tenant": tenant.domain,
                    "case_id": "CASE-77",
                    "chat_id": c.chat_id,
                }
            ]
            * 2
        )
    finally:
        rt.providers.pop("crm", None)
    # unreachable CRM: the same answer
    rt.providers["crm"] = WebhookCrm("http://127.0.0.1:1/cases", timeout=2.0)
    try:
        d = Customer(client, tenant)
        await d.start()
        seat = await connect_agent(client, rt, tenant, d.chat_id, token=seat.token)
        r = await client.put(
            f"/agentapi/v1/interactions/{seat.interaction_id}/case",
            json={"case_id": "CASE-78"},
            headers=seat.headers,
        )
        assert r.status_code == 200, r.text
        assert error_of(await d.post("/closecase")) == (500, "5602")
    finally:
        rt.providers.pop("crm", None)


# ---- 7. JSON bodies as text/plain or without a type -----------------------------------------


async def test_json_bodies_as_postman_sends_them(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    body = json.dumps({"phone_number": "16508888888", "parameters": {"FIRST_NAME": "Ann"}})
    # the collection's Request Chat: a raw body, its header misspelt ("Content"):
    # Postman sends text/plain
    r = await client.post(
        f"{V2}/chats",
        params=c.params(),
        headers={**c.headers, "Content": "application/json", "Content-Type": "text/plain"},
        content=body.encode(),
    )
    assert r.status_code == 200, r.text
    c.chat_id = r.json()["chat_id"]
    events = json.dumps({"events": [{"event": "chat_session_message", "msg": "plain"}]})
    for ctype in ("text/plain;charset=UTF-8", None):
        headers = dict(c.headers)
        if ctype:
            headers["Content-Type"] = ctype
        r = await client.post(
            f"{V2}/chats/{c.chat_id}/events", params=c.params(), headers=headers, content=events
        )
        assert r.status_code == 200, (ctype, r.text)
    d = Customer(client, tenant)
    r = await client.post(f"{V1}/chats", params=d.params(), headers=d.headers, content=body)
    assert r.status_code == 200, r.text
    d.chat_id = r.json()["chat_id"]
    # types that cannot be JSON stay 415
    for ctype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "image/png",
    ):
        r = await client.post(
            f"{V2}/chats/{c.chat_id}/events",
            params=c.params(),
            headers={**c.headers, "Content-Type": ctype},
            content=events,
        )
        assert error_of(r) == (415, "5003"), ctype
    # an empty body of any type is no body (Close Case, Request Chat without parameters)
    r = await client.post(
        f"{V2}/chats",
        params=d.params(),
        headers={**d.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json()["chat_id"] == d.chat_id


def test_only_failures_to_reach_the_database_are_5004() -> None:
    """SQLite also raises OperationalError for a bad statement: that stays a 500."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from switchboard.api.messaging.guard import classify

    def op(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, Exception(message))

    assert classify(op("no such table: chat_sessions")) is None
    assert classify(ValueError("x")) is None
    gone = [op("unable to open database file"), ConnectionRefusedError(111, "refused")]
    gone.append(InterfaceError("SELECT 1", {}, Exception("connection is closed")))
    for error in gone:
        mapped = classify(error)
        assert mapped is not None and mapped.code == "5004", error
    late = classify(op("database is locked"))
    assert late is not None and late.code == "5000" and late.status == 504


async def test_agent_photos_load_without_headers(
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    rt: Runtime,
    tenant: TenantInfo,
    photo_server: str,
) -> None:
    """An agent with a stored profile photo: that photo, byte for byte; an agent without
    one: the default picture (SVG). Both as ``<img>`` loads them: no Authorization
    header, the chat id is the credential."""
    scim = await scim_headers(client, tenant)
    r = await client.get(
        "/configapi/v2/scim/users", params={"filter": 'userName eq "agent1"'}, headers=scim
    )
    assert r.status_code == 200, r.text
    (agent1,) = r.json()["Resources"]
    photo = {"op": "replace", "path": "photos", "value": [{"value": photo_server + "/photo.png"}]}
    r = await client.patch(
        f"/configapi/v2/scim/users/{agent1['id']}", json=patch_body(photo), headers=scim
    )
    assert r.status_code == 200, r.text

    pictures: dict[str, httpx.Response] = {}
    for login in ("agent1", "agent2"):  # agent2 has no photo
        w = Widget(browser, tenant)
        await w.start()
        seat = await connect_agent(client, rt, tenant, w.chat_id, login)
        async with httpx.AsyncClient(
            transport=client._transport, base_url="http://testserver"
        ) as img:
            for version in (V1, V2):
                r = await img.get(f"{version}/chats/{w.chat_id}/profilephotos/{seat.party_id}")
                assert r.status_code == 200, r.text
                assert "authorization" not in r.request.headers
                pictures[f"{login}{version}"] = r
        await seat.end()
    for version in (V1, V2):
        mine, default = pictures[f"agent1{version}"], pictures[f"agent2{version}"]
        assert mine.content == PNG and mine.headers["content-type"] == "image/png"
        assert default.headers["content-type"].startswith("image/svg+xml")
        assert default.content.startswith(b"<svg") and default.content != PNG
