"""The seed's Postman collection (003), replayed against the app: every request of every
folder (Configuration API, SCIM, phones, both call-recording folders, SMS, Real-Time
Statistics, Mobile/Web Messaging, calling lists, campaigns, Do-Not-Call lists), sent as
Postman sends them, with only the host, tenant, credentials and example ids filled in,
must answer the status codes the collection documents.

As Postman sends them: the request's own headers; a raw body without a Content-Type
header goes as ``application/json`` when the collection marks it as JSON, else as
``text/plain``; redirects are followed. Where a request body is a template
(``"fieldName_1": "value_1", ...``) the body of the request's saved example is sent
instead. Destructive requests (``deleteAll``, erasing recordings) run last, so that the
other examples find their records, as they do when run one by one.

The objects the examples name exist: a finished, recorded call for the recordings'
GIID and step id; a statistics session (``POST /statsapi/auth``) whose cookies fill the
``Cookie`` headers; a chat (from "Request Chat") with an agent in it and a case set by
that agent. Ids a Postman user copies from an earlier answer are chained the same way:
the chat id from "Request Chat", the file id from "Upload File", the interaction and
party of the multichannel segment from "Get Multichannel Recording Structure". Before
"Get Subscription Data" the statistics engine computes a snapshot (what its worker does
every few seconds; the collection documents 204 "not ready yet, poll again"). The one
placeholder no example fills, the events of "Send Events", becomes one chat message.

The collection is read from ``/work/shared/seeds/003_ef47a2bccb986d48.postman.json``
(or ``SWITCHBOARD_SEED_POSTMAN``); the test is skipped without it. It is never copied
into the repository.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.core.runtime import Runtime
from switchboard.recordings import actions as rec_actions
from switchboard.stats.engine import get_engine
from tests.conftest import PASSWORD, TenantInfo, new_tenant
from tests.test_messaging_support import connect_agent
from tests.test_recordings_api import answered_call
from tests.test_scim_support import set_settings

SEED = Path(
    os.environ.get(
        "SWITCHBOARD_SEED_POSTMAN", "/work/shared/seeds/003_ef47a2bccb986d48.postman.json"
    )
)
FOLDERS = (
    "Authentication",
    "Users",
    "Users SCIM Provisioning",
    "Phones",
    "Regular Call Recordings",
    "Multichannel Call Recordings",
    "SMS/MMS Messaging",
    "Real-Time Statistics",
    "Mobile/Web Messaging",
    "Calling List",
    "Campaigns",
    "Do Not Call List",
)
# the folders whose requests carry the Configuration API's bearer token
BEARER_FOLDERS = {
    "Users",
    "Users SCIM Provisioning",
    "Phones",
    "Regular Call Recordings",
    "Multichannel Call Recordings",
    "SMS/MMS Messaging",
    "Calling List",
    "Campaigns",
    "Do Not Call List",
}
RUN_LAST = {("Calling List", "Delete All Records"), ("Do Not Call List", "Delete All Records")}
ERASE = "Regular Call Recordings: Erase Call Recordings"  # after both recordings folders
# the example ids of the collection, and what they become here
SEED_SCIM_ID = "6BE15F09-BF39-4E20-AB31-A9355CBC01FC"
SEED_HOST = "mytenant.cx.onecloud.com"
SEED_GIIDS = ("A44B62DE-75FB-47CD-A103-8F778CD1032A", "B3178008-47BA-4CAB-B620-CB3C8864BCB6")
SEED_STEP_ID = "C6A1ECF1-6C4E-4D13-B848-718273ECB0CA"
SEED_SEGMENT = {"iid": "A274FC70-770E-45B0-AC77-491EF6CD8E05", "party": "98141181"}
SEED_TEAM_ID = "F4ED90FA-5A49-4D76-9487-4E41B24CA45F"  # "Customer Service"
SEED_SERVICE_IDS = (
    "E66F7A0C-E464-4656-B4AA-026F53A3D403",
    "A2B6564D-C7FE-4086-A6CE-AE91C7A3A3D5",
    "DF46C874-112D-499A-8744-407E06E4BF71",
    "8E9042CF-C414-4749-910D-CC115498EFD2",
)
APP_ID = "test"  # the demo chat entry
CLIENT_ID = "WebChat"  # the collection's variable "Unique Client ID"
STATS_LOGIN = "supervisor1"
UPLOAD = ("important_file.txt", b"The file or text to be uploaded\n", "text/plain")
LIST_NAME = "list.csv"  # the demo tenant's list, campaign and DNC list
CAMPAIGN_NAME = "Outbound Campaign"
DNC_NAME = "DNC_List"

pytestmark = pytest.mark.skipif(not SEED.exists(), reason=f"no Postman collection at {SEED}")


@dataclass
class Step:
    folder: str
    name: str
    method: str
    url: str
    headers: list[tuple[str, str]]
    mode: str | None  # raw | urlencoded | formdata | None
    raw: str
    language: str | None
    form: list[tuple[str, str]]
    expected: int

    @property
    def id(self) -> str:
        return f"{self.folder}: {self.name.strip()}"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _step(folder: str, item: dict[str, Any]) -> Step:
    req = item["request"]
    url = req["url"] if isinstance(req["url"], str) else req["url"]["raw"]
    headers = [
        (h["key"], h.get("value", "")) for h in req.get("header", []) if not h.get("disabled")
    ]
    body = req.get("body") or {}
    mode = body.get("mode")
    raw = body.get("raw", "") if mode == "raw" else ""
    language = ((body.get("options") or {}).get("raw") or {}).get("language")
    examples = item.get("response") or []
    if mode == "raw" and raw.strip() and not _is_json(raw):
        # a template: send the body of the request's saved example
        for ex in examples:
            ex_raw = ((ex.get("originalRequest") or {}).get("body") or {}).get("raw", "")
            if ex_raw and _is_json(ex_raw):
                raw = ex_raw
                break
    form = [
        (f["key"], f.get("value", ""))
        for f in body.get("urlencoded", [])
        if mode == "urlencoded" and not f.get("disabled")
    ]
    codes = [ex.get("code") for ex in examples if ex.get("code")]
    return Step(
        folder=folder,
        name=item["name"],
        method=req["method"],
        url=url,
        headers=headers,
        mode=mode,
        raw=raw,
        language=language,
        form=form,
        expected=int(codes[0]) if codes else 200,
    )


def load_steps() -> list[Step]:
    if not SEED.exists():
        return []
    collection = json.loads(SEED.read_text())
    steps: list[Step] = []
    for folder in collection["item"]:
        if folder["name"] not in FOLDERS:
            continue
        items = [_step(folder["name"], it) for it in folder["item"] if "request" in it]
        items.sort(key=lambda s: (s.folder, s.name.strip()) in RUN_LAST)  # stable
        steps += items
    steps.sort(key=lambda s: s.id == ERASE)  # stable
    return steps


STEPS = load_steps()


@dataclass
class Replay:
    tenant: TenantInfo
    token: str = ""
    values: dict[str, str] = field(default_factory=dict)
    # Postman's cookie jar (the web chat's client cookie) across the requests
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)


@pytest.fixture(scope="module")
async def replay(rt: Runtime) -> Replay:
    tenant = await new_tenant(rt)
    # offline: the SCIM example's photo URL (on the Internet) is kept, not fetched; and
    # the Replace User example renames its user, which "service providers must allow
    # for your contact center" (the seed): this one does
    await set_settings(rt, tenant, scim_photos="url", scim_allow_username_change=True)
    return Replay(tenant=tenant)


def _path_and_query(raw_url: str) -> str:
    """The collection's URL without scheme and host (one of them is written
    ``https:/host``)."""
    return re.sub(r"^https?:/+[^/]+", "", raw_url)


async def _ensure_token(client: httpx.AsyncClient, state: Replay) -> str:
    if not state.token:
        r = await client.post("/configapi/v2/oauth/token", data=state.tenant.token_form())
        assert r.status_code == 200, r.text
        state.token = r.json()["access_token"]
    return state.token


async def _ensure_scim_user(client: httpx.AsyncClient, state: Replay) -> str:
    """The id of the user the SCIM examples work on: the one "Create User" made, or (when
    that request failed) the same user created with a JSON content type."""
    if "scim_id" not in state.values:
        body = next(s.raw for s in STEPS if s.id == "Users SCIM Provisioning: Create User")
        r = await client.post(
            "/configapi/v2/scim/users",
            content=body.encode(),
            headers={
                "Authorization": f"Bearer {await _ensure_token(client, state)}",
                "Content-Type": "application/scim+json",
            },
        )
        assert r.status_code == 201, r.text
        state.values["scim_id"] = r.json()["id"]
    return state.values["scim_id"]


async def _fill(client: httpx.AsyncClient, state: Replay, url: str) -> str:
    if ":id" in url or SEED_SCIM_ID in url:
        scim_id = await _ensure_scim_user(client, state)
        url = url.replace(":id", scim_id).replace(SEED_SCIM_ID, scim_id)
    if ":username" in url:
        created = json.loads(next(s.raw for s in STEPS if s.id == "Users: Create User"))
        url = url.replace(":username", created["loginId"])
    if ":message-sid" in url:
        url = url.replace(":message-sid", state.values.get("sms_sid", "none"))
    for name in (":list_name", "<list_name>"):
        url = url.replace(name, LIST_NAME)
    for name in (":campaign_name", ":campaignname"):
        url = url.replace(name, CAMPAIGN_NAME)
    url = url.replace(":do_not_call_list_name", DNC_NAME)
    url = url.replace(SEED_HOST, state.tenant.domain)
    if ":chatId" in url:
        url = url.replace(":chatId", state.values["chat_id"])
    if ":fileId" in url:
        url = url.replace(":fileId", state.values["file_id"])
    if ":partyId" in url:
        url = url.replace(":partyId", state.values["agent_party"])
    if "{service-name}" in url:
        url = url.replace("{service-name}", "Chat Service")
    return url


def _content_type(step: Step) -> str | None:
    for key, value in step.headers:
        if key.lower() == "content-type":
            return value
    if step.mode == "raw" and step.raw:
        return "application/json" if step.language == "json" else "text/plain"
    if step.mode == "urlencoded":
        return "application/x-www-form-urlencoded"
    return None


async def _ensure_recording(
    client: httpx.AsyncClient, rt: Runtime, state: Replay, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """The GIID and step id of a finished, recorded call (the recordings' examples)."""
    if "giid" not in state.values:
        headers = {"Authorization": f"Bearer {await _ensure_token(client, state)}"}
        call = await answered_call(client, rt, state.tenant, headers, monkeypatch, talk_seconds=1.2)
        await rec_actions.record_finished(rt)
        state.values["giid"], state.values["step_id"] = (
            call["globalInteractionID"],
            call["attemptId"],
        )
    return state.values["giid"], state.values["step_id"]


async def _ensure_stats_session(client: httpx.AsyncClient, state: Replay) -> str:
    """The ``Cookie`` header of a statistics session of the tenant's supervisor."""
    if "stats_cookie" not in state.values:
        r = await client.post(
            "/statsapi/auth",
            json={
                "tenant_url": state.tenant.domain,
                "username": STATS_LOGIN,
                "password": PASSWORD,
            },
        )
        assert r.status_code == 200, r.text
        state.values["stats_token"] = r.json()["token"]
        state.values["stats_cookie"] = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
        assert "X-STATSAPI-TOKEN=" in state.values["stats_cookie"]
    return state.values["stats_cookie"]


async def _stats_ids(client: httpx.AsyncClient, state: Replay) -> tuple[str, list[str]]:
    """The supervised team and the services, in place of the example's ids."""
    headers = {"Authorization": f"Bearer {state.values['stats_token']}"}
    teams = (await client.get("/statsapi/cfg/teams", headers=headers)).json()
    services = (await client.get("/statsapi/cfg/services", headers=headers)).json()
    team = next(t["id"] for t in teams if t["name"] == "Support Team")
    return team, [x["id"] for x in services]


async def _ensure_agent(client: httpx.AsyncClient, rt: Runtime, state: Replay) -> None:
    """An agent in the chat (whose photo the chat may load), who sets its case."""
    if "agent_party" in state.values:
        return
    seat = await connect_agent(client, rt, state.tenant, state.values["chat_id"])
    state.values["agent_party"] = seat.party_id
    r = await client.put(
        f"/agentapi/v1/interactions/{seat.interaction_id}/case",
        json={"case_id": "CASE-POSTMAN-1"},
        headers=seat.headers,
    )
    assert r.status_code == 200, r.text


def _placeholders(value: str) -> str:
    """The Messaging API's Authorization placeholders: the demo entry, Postman's client."""
    for name in ("<app_id>", "<Unique app identifier>"):
        value = value.replace(name, APP_ID)
    return value.replace("<Unique client ID>", CLIENT_ID)


async def _prepare(
    client: httpx.AsyncClient,
    rt: Runtime,
    state: Replay,
    step: Step,
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    content: bytes | None,
) -> tuple[str, bytes | None]:
    """The URL and body of ``step`` with the example objects made and ids filled in."""
    if step.folder == "Mobile/Web Messaging" and step.name.strip() in (
        "Get Agent Profile Photo",
        "Get Case History",
        "Close Case",
    ):
        await _ensure_agent(client, rt, state)
    url = await _fill(client, state, _path_and_query(step.url))
    if step.folder.endswith("Call Recordings"):
        giid, step_id = await _ensure_recording(client, rt, state, monkeypatch)
        for seed in SEED_GIIDS:
            url = url.replace(seed, giid)
        url = url.replace(SEED_STEP_ID, step_id).replace("<GIID>", giid)
        url = url.replace("<reason>", "credit_card_info")  # the example's reason
        for key, seed in SEED_SEGMENT.items():
            url = url.replace(seed, state.values.get(f"segment_{key}", seed))
    if step.folder == "Real-Time Statistics":
        cookie = await _ensure_stats_session(client, state)
        for key in [k for k in headers if k.lower() == "cookie"]:
            headers[key] = cookie
        if headers.get("Authorization") == "Bearer <access_token>":
            headers["Authorization"] = f"Bearer {state.values['stats_token']}"
        if content is not None and SEED_TEAM_ID.encode() in content:
            team, services = await _stats_ids(client, state)
            text = content.decode().replace(SEED_TEAM_ID, team)
            for i, seed in enumerate(SEED_SERVICE_IDS):
                text = text.replace(seed, services[i % len(services)])
            content = text.encode()
        if step.name.strip() == "Get Subscription Data":
            # the statistics worker's pass, driven here
            await get_engine(rt).refresh(rt, state.tenant.tenant_id)
    if step.folder == "Mobile/Web Messaging":
        for key in list(headers):
            headers[key] = _placeholders(headers[key])
        if content is not None and b"<array of new chat events from server>" in content:
            event = {"event": "chat_session_message", "msg": "Hello from Postman"}
            content = json.dumps({"events": [event]}).encode()
    return url, content


@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
async def test_collection_request(
    client: httpx.AsyncClient,
    rt: Runtime,
    replay: Replay,
    step: Step,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state = replay
    headers = {k: v for k, v in step.headers if k.lower() != "content-type"}
    ctype = _content_type(step)
    if ctype is not None:
        headers["Content-Type"] = ctype
    content: bytes | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    if step.mode == "urlencoded":
        filled = {
            "client_id": "admin",
            "client_secret": state.tenant.admin_secret,
            "scope": state.tenant.domain,
        }
        content = str(httpx.QueryParams([(k, filled.get(k, v)) for k, v in step.form])).encode()
    elif step.mode == "raw" and step.raw:
        content = step.raw.encode()
    elif step.mode == "formdata":
        files = {"file": UPLOAD}  # the form's file field, a file of the user's
    if step.folder in BEARER_FOLDERS:
        headers["Authorization"] = f"Bearer {await _ensure_token(client, state)}"
    url, content = await _prepare(client, rt, state, step, monkeypatch, headers, content)

    client.cookies = state.cookies
    r = await client.request(
        step.method, url, content=content, files=files, headers=headers, follow_redirects=True
    )
    state.cookies = client.cookies

    assert r.status_code == step.expected, f"{step.method} {url} {ctype}: {r.text[:500]}"
    if step.id == "Authentication: Get Access Token":
        state.token = r.json()["access_token"]
    elif step.id == "Users SCIM Provisioning: Create User":
        state.values["scim_id"] = r.json()["id"]
    elif step.id == "Users SCIM Provisioning: Delete User":
        state.values.pop("scim_id", None)
    elif step.id == "SMS/MMS Messaging: Send Message":
        state.values["sms_sid"] = r.json()["sid"]
    elif step.id == "Multichannel Call Recordings: Get Multichannel Recording Structure":
        shape = r.json()
        state.values["segment_iid"] = shape["interaction_id"]
        state.values["segment_party"] = shape["parties"][-1]["party_id"]
    elif step.id == "Mobile/Web Messaging: Request Chat":
        state.values["chat_id"] = r.json()["chat_id"]
    elif step.id == "Mobile/Web Messaging: Upload File":
        state.values["file_id"] = r.json()["file_id"]
