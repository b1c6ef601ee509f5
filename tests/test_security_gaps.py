"""Issue 12, the gaps: paging numbers bounded before SQL, the login throttle's and the
bus's Redis outages logged once (and their end), growing delays over HTTP, uploads served
so that they never run, tokens kept out of URLs and logs, a request body declared by
every write operation of the OpenAPI document."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from switchboard.app import create_app
from switchboard.auth.models import AccessToken
from switchboard.auth.throttle import LoginThrottle
from switchboard.chats import files
from switchboard.chats.models import ChatFile
from switchboard.core import clock
from switchboard.core.bus import RedisBus
from switchboard.core.runtime import Runtime
from switchboard.core.settings import Settings
from switchboard.users.models import User
from tests.conftest import TenantInfo, free_port
from tests.test_messaging_support import V2, Customer, auth, connect_agent, error_of

API = "/configapi/v2"
TOKEN = "/configapi/v2/oauth/token"
WEB = Path(__file__).resolve().parent.parent / "switchboard" / "web"


# ---- paging numbers never reach SQL unbounded ------------------------------------------


async def test_calling_list_paging_numbers_are_bounded(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    h = admin_headers
    base = f"{API}/callinglist"
    campaign = "list.csv/Outbound Campaign"
    huge = ("99999999999999999999", str(2**63), str(2**31), 2**31, "1" * 40)
    for value in huge:
        for path, body in (
            ("getAll", {"fromIndex": value, "maxSize": 10}),
            ("getAll", {"fromIndex": 0, "maxSize": value}),
            ("getCompleted", {"fromTime": "2021-01-01T00:00:00Z", "maxSize": value}),
            ("getChanged", {"fromTime": "2021-01-01T00:00:00Z", "maxSize": value}),
        ):
            r = await client.post(f"{base}/{path}/{campaign}", json=body, headers=h)
            assert r.status_code == 400, (path, body, r.status_code, r.text)
            assert r.json()["error"] == "bad_request", r.text
    # beyond 64 bits as a JSON number: refused by the JSON decoder, same format
    r = await client.post(
        f"{base}/getAll/{campaign}",
        content=b'{"fromIndex": 18446744073709551616, "maxSize": 1}',
        headers={**h, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    # the largest index is an ordinary (empty) page
    r = await client.post(
        f"{base}/getAll/{campaign}", json={"fromIndex": str(2**31 - 1), "maxSize": 5}, headers=h
    )
    assert r.status_code == 200 and r.json() == [], r.text


async def test_messaging_cursor_beyond_64_bits(
    client: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    for cursor in ("18446744073709551616", "9223372036854775808", "1" * 40, "-1"):
        r = await c.get(f"/chats/{c.chat_id}/events", params={"cursor": cursor})
        assert error_of(r) == (400, "5003"), (cursor, r.text)
        r = await c.post(f"/chats/{c.chat_id}/events", {"events": []}, params={"cursor": cursor})
        assert error_of(r) == (400, "5003"), (cursor, r.text)
    r = await c.get(f"/chats/{c.chat_id}/events", params={"cursor": "0"})
    assert r.status_code == 200, r.text


# ---- Redis outages: logged once, and their end once ------------------------------------


class Redis:
    """A throw-away redis-server on a free port, stopped and started by the test."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[Redis]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server is not installed")
    server = Redis()
    yield server
    server.stop()


def _lines(caplog: pytest.LogCaptureFixture, logger: str, text: str) -> int:
    return sum(1 for r in caplog.records if r.name == logger and text in r.getMessage())


async def test_throttle_logs_an_outage_once_and_its_end(
    redis_server: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="switchboard.auth.throttle")
    logger = "switchboard.auth.throttle"
    throttle = LoginThrottle(
        Settings(redis_url=redis_server.url, bus_prefix="gaps", lockout_threshold=3)
    )
    # Redis is down (nothing listens on the port): failures still count, in memory
    for _ in range(3):
        assert await throttle.account_wait("t1", "ann") == 0
        await throttle.failed("t1", "ann", "198.18.200.1")
    assert await throttle.account_wait("t1", "ann") > 0
    # retries come after growing pauses on the engine's clock: each one fails again
    for pause in (1, 2, 4, 8, 16, 32, 60, 60):
        clock.advance(pause)
        assert (await throttle.state("t1", "bob")).locked is False
    assert _lines(caplog, logger, "Redis unreachable") == 1
    assert _lines(caplog, logger, "reachable again") == 0
    # Redis comes back: the next retry uses it, and says so once
    redis_server.start()
    clock.advance(60)
    for _ in range(3):
        await throttle.failed("t1", "cyd", "198.18.200.1")
    assert await throttle.account_wait("t1", "cyd") > 0  # counted in Redis
    assert _lines(caplog, logger, "reachable again") == 1
    await throttle.clear("t1", "cyd")  # an administrator's clear reaches Redis
    assert (await throttle.state("t1", "cyd")).locked is False
    # down again: one more outage line, not one per attempt (nor per clear)
    redis_server.stop()
    for _ in range(5):
        await throttle.failed("t1", "dan", "198.18.200.1")
        await throttle.clear("t1", "eve")
        clock.advance(61)
    assert _lines(caplog, logger, "Redis unreachable") == 2
    assert _lines(caplog, logger, "reachable again") == 1


async def test_bus_logs_an_outage_once_and_its_end(
    redis_server: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="switchboard.core.bus")
    logger = "switchboard.core.bus"
    redis_server.start()
    bus = RedisBus(redis_server.url, prefix="gaps")
    await bus.start()
    try:
        async with bus.listen(["t"]) as waiter:
            await bus.publish("t", "1")
            assert await waiter.wait(5) and waiter.drain() == ["1"]
            redis_server.stop()
            for i in range(5):  # this process's readers are still woken
                await bus.publish("t", f"down{i}")
            assert waiter.drain() == [f"down{i}" for i in range(5)]
            assert _lines(caplog, logger, "redis bus unavailable") == 1
            redis_server.start()
            # the listener reconnects on its own (backing off): wait for it, bounded
            async with asyncio.timeout(30):
                while _lines(caplog, logger, "reachable again") == 0:
                    await bus.publish("t", "up")
                    await asyncio.sleep(0.1)
            assert _lines(caplog, logger, "redis bus unavailable") == 1
            assert _lines(caplog, logger, "reachable again") == 1
    finally:
        await bus.stop()


# ---- growing delays over HTTP ---------------------------------------------------------


@pytest.fixture
async def tiered_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    """The app with source tiers of a minute, 10 minutes and an hour, its windows in
    process memory (on the engine's clock, which the test moves), no background work."""
    settings = migrated.model_copy(
        update={
            "redis_url": None,
            "login_source_limits": "3 per minute; 6 per 10 minutes; 9 per hour",
            "run_background_workers": False,
        }
    )
    runtime = Runtime.create(settings)
    application = create_app(runtime=runtime)
    async with application.router.lifespan_context(application):
        yield application
    await runtime.stop()


async def test_bad_logins_get_429_with_growing_retry_after(
    tiered_app: FastAPI, tenant: TenantInfo
) -> None:
    transport = httpx.ASGITransport(app=tiered_app, client=("198.18.201.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        waits: list[int] = []
        for pause in (0, 61, 601):
            clock.advance(pause)
            for _ in range(3):
                r = await c.post(TOKEN, data=tenant.token_form(secret="wrong"))
                assert r.status_code == 401, r.text
            r = await c.post(TOKEN, data=tenant.token_form(secret="wrong"))
            assert r.status_code == 429, r.text
            assert r.json()["error"] == "invalid_request"
            waits.append(int(r.headers["retry-after"]))
            # the agent login is refused alike, in its own format
            r = await c.post(
                "/agentapi/v1/login",
                json={"tenant": tenant.domain, "loginId": "admin", "password": "x"},
            )
            assert r.status_code == 429 and int(r.headers["retry-after"]) == waits[-1]
        assert 50 <= waits[0] <= 60, waits
        assert 500 <= waits[1] <= 600, waits
        assert 2800 <= waits[2] <= 3600 - 662 + 1, waits
        assert waits[0] < waits[1] < waits[2]
        # once the hour has passed, the right secret logs in again
        clock.advance(3600)
        r = await c.post(TOKEN, data=tenant.token_form())
        assert r.status_code == 200, r.text


# ---- uploads are served so that they never run -----------------------------------------

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _served_safely(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.content == SVG
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["content-disposition"].startswith("attachment")


async def test_uploaded_svg_is_a_sandboxed_download(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    c = Customer(client, tenant)
    await c.start()
    seat = await connect_agent(client, rt, tenant, c.chat_id)
    r = await client.post(
        f"{V2}/files",
        params=c.params(),
        headers=c.headers,
        files={"file": ("pic.svg", SVG, "image/svg+xml")},
    )
    assert r.status_code == 200, r.text
    file_id = r.json()["file_id"]
    bare = {"Authorization": auth(c.client_id)}
    _served_safely(await client.get(f"{V2}/chats/{c.chat_id}/files/{file_id}", headers=bare))
    _served_safely(await client.get(f"/clientweb/file/{file_id}", headers=bare))
    _served_safely(
        await client.get(
            f"/agentapi/v1/interactions/{seat.interaction_id}/files/{file_id}",
            headers=seat.headers,
        )
    )
    # an agent's SVG, fetched by the customer and by the agent
    r = await client.post(
        f"/agentapi/v1/interactions/{seat.interaction_id}/files",
        files={"file": ("logo.svg", SVG, "image/svg+xml")},
        headers=seat.headers,
    )
    assert r.status_code == 200, r.text
    polled = [e for e in await c.poll() if e["event"] == "chat_session_file"]
    agent_file = polled[-1]["file_id"]
    assert agent_file != file_id
    _served_safely(await client.get(f"/clientweb/file/{agent_file}", headers=bare))
    _served_safely(
        await client.get(
            f"/agentapi/v1/interactions/{seat.interaction_id}/files/{agent_file}",
            headers=seat.headers,
        )
    )


# ---- tokens stay out of URLs, and out of the logs when a client puts them there ---------

# a token in a query string, however the script builds it: written into a URL, set on
# URLSearchParams (q.set("access_token", ...)) or given to its constructor ({token: ...})
_TOKEN_IN_URL = re.compile(
    r"""[?&](access_)?token="""
    r"""|\.(set|append)\(\s*["'](access_)?token["']"""
    r"""|URLSearchParams\(\s*\{[^}]*\b(access_)?token\s*:""",
    re.IGNORECASE,
)


def test_our_clients_keep_tokens_out_of_urls() -> None:
    scripts = sorted(WEB.glob("agent/*.js")) + sorted(WEB.glob("wallboard/*.js"))
    pages = sorted(WEB.glob("agent/*.html")) + sorted(WEB.glob("wallboard/*.html"))
    assert len(scripts) >= 3, scripts
    for path in scripts + pages:
        text = path.read_text()
        for n, line in enumerate(text.splitlines(), 1):
            assert not _TOKEN_IN_URL.search(line), f"{path.name}:{n}: {line.strip()}"
    # the desktop authenticates its WebSocket in the first frame, never in the URL
    app_js = (WEB / "agent" / "app.js").read_text()
    assert 'type: "auth", access_token: S.token' in app_js
    ws_line = next(x for x in app_js.splitlines() if "new WebSocket(" in x)
    assert "token" not in ws_line.lower()


async def test_token_in_a_query_string_is_redacted_in_the_access_log(
    client: httpx.AsyncClient, tenant: TenantInfo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="switchboard.access")
    r = await client.post(
        "/agentapi/v1/login",
        json={"tenant": tenant.domain, "loginId": "agent1", "password": tenant.password},
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    # other clients' links may still carry one: the agent API accepts it, the log hides it
    r = await client.get("/agentapi/v1/me", params={"access_token": token, "page": "1"})
    assert r.status_code == 200, r.text
    r = await client.get(f"{API}/team", params={"access_token": token})
    assert r.status_code == 401  # no credential on the Configuration API
    lines = [x.getMessage() for x in caplog.records if x.name == "switchboard.access"]
    mine = [x for x in lines if "/agentapi/v1/me" in x or f"{API}/team" in x]
    assert len(mine) == 2, lines
    assert all("access_token=REDACTED" in x for x in mine), mine
    assert "page=1" in mine[0]
    assert token not in "\n".join(x.getMessage() for x in caplog.records)


async def test_tokens_and_secrets_are_stored_as_digests_and_hashes(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    r = await client.post(TOKEN, data=tenant.token_form())
    token = r.json()["access_token"]
    async with rt.db.read() as s:
        rows = (
            await s.execute(select(AccessToken).where(AccessToken.tenant_id == tenant.tenant_id))
        ).scalars()
        stored = [(t.digest, t.id) for t in rows]
        admin = (
            await s.execute(
                select(User).where(User.tenant_id == tenant.tenant_id, User.login_id == "admin")
            )
        ).scalar_one()
    assert (hashlib.sha256(token.encode()).hexdigest(),) in {(d,) for d, _ in stored}
    assert all(token not in (d, i) for d, i in stored)
    assert admin.api_secret_hash is not None and admin.api_secret_hash.startswith("$argon2")
    assert admin.password_hash is not None and admin.password_hash.startswith("$argon2")
    assert tenant.admin_secret not in admin.api_secret_hash


# ---- every write operation declares its body --------------------------------------------

# Write operations that really take no body: the path names everything they do.
NO_BODY: dict[tuple[str, str], str] = {
    ("POST", "/agentapi/v1/logout"): "ends the caller's own session",
    ("POST", "/agentapi/v1/interactions/{interaction_id}/accept"): "accepts the offer named",
    ("POST", "/agentapi/v1/interactions/{interaction_id}/reject"): "rejects the offer named",
    ("POST", "/agentapi/v1/interactions/{interaction_id}/leave"): "leaves the chat named",
    ("POST", "/agentapi/v1/interactions/{interaction_id}/callback"): "calls the chat's number",
    ("POST", "/agentapi/v1/outbound/{attempt_id}/start"): "starts the attempt named",
    ("POST", "/agentapi/v1/outbound/{attempt_id}/hangup"): "hangs the attempt up",
    ("PUT", "/configapi/v2/user/lock/{username}"): "clears the lockout (seed 003: no body)",
    ("POST", "/configapi/v2/callinglist/deleteAll/{list_name}"): "empties the list named",
    ("POST", "/configapi/v2/campaign/{name}/start"): "starts the campaign named",
    ("POST", "/configapi/v2/campaign/{name}/stop"): "stops the campaign named",
    ("PUT", "/configapi/v2/campaign/{name}/lists/{list_name}"): "binds the list named",
    ("POST", "/configapi/v2/donotcalllist/deleteAll/{list_name}"): "empties the list named",
    ("POST", "/clientweb/api/v2/closecase"): "closes the caller's case (seed: no body)",
    ("POST", "/clientweb/api/v2/chats/{chat_id}/closecase"): "closes the chat's case",
}


def test_every_write_operation_declares_its_body(app: FastAPI) -> None:
    doc = app.openapi()
    missing: list[str] = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            key = (method.upper(), path)
            if key[0] not in ("POST", "PUT", "PATCH"):
                continue
            declared = op.get("requestBody")
            if key in NO_BODY:
                # an operation that gained a body leaves the list
                assert declared is None, f"{key} declares a body now: remove it from NO_BODY"
                continue
            if declared is None:
                missing.append(f"{key[0]} {path}")
                continue
            content = declared.get("content") or {}
            assert content, key
            assert all("schema" in media for media in content.values()), key
    assert not missing, "write operations without a declared body:\n" + "\n".join(missing)
    assert all(reason.strip() for reason in NO_BODY.values())


async def test_odd_bytes_and_numbers_in_form_bodies_are_4xx(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    """What the fuzzer's declared bodies led to: bytes that are no UTF-8 in a Twilio
    callback, and GMS transcript positions past 64 bits or in other scripts' digits."""
    saved = rt.settings.public_url
    rt.settings.public_url = "http://testserver"
    try:
        r = await client.post(
            "/carriers/twilio/calls/unknown/status",
            content=b"\xff\xfeCallSid=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    finally:
        rt.settings.public_url = saved
    assert r.status_code == 403, r.text
    r = await client.post("/genesys/2/chat/test", data={"_tenant": tenant.domain, "firstName": "A"})
    assert r.status_code == 200, r.text
    chat = r.json()
    for position in ("99999999999999999999", "9" * 5000, "\u00b2", "-1", "3"):
        r = await client.post(
            f"/genesys/2/chat/test/{chat['chatId']}/refresh",
            data={
                "_tenant": tenant.domain,
                "secureKey": chat["secureKey"],
                "userId": chat["userId"],
                "fromPosition": position,
            },
        )
        if position == "3":
            assert r.status_code == 200, r.text
        else:
            assert r.status_code == 400, (position[:10], r.text)
            assert r.json()["statusCode"] == 2


async def test_canned_response_searches_refuse_nul_and_bound_offsets(
    client: httpx.AsyncClient, tenant: TenantInfo, admin_headers: dict[str, str]
) -> None:
    """What the fuzzer found on PostgreSQL (which stores no NUL): a 400, not a 500."""
    r = await client.post(
        "/agentapi/v1/login",
        json={"tenant": tenant.domain, "loginId": "agent1", "password": tenant.password},
    )
    agent = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.get("/agentapi/v1/canned-responses", params={"q": "a\x00b"}, headers=agent)
    assert r.status_code == 400, r.text
    url = "/adminapi/v1/canned-responses/search"
    for params in ({"q": "\x00"}, {"category": "x\x00"}):
        r = await client.get(url, params=params, headers=admin_headers)
        assert r.status_code == 400, (params, r.text)
    r = await client.get(url, params={"offset": str(2**62)}, headers=admin_headers)
    assert r.status_code == 200 and r.json() == [], r.text


# ---- uploads over 25 MB ------------------------------------------------------------------


async def test_upload_over_25_mb_is_413_and_stores_nothing(
    client: httpx.AsyncClient, rt: Runtime, tenant: TenantInfo
) -> None:
    """Declared too long: refused before a byte is read; streamed without a length: cut
    off at the limit. Either way 413 5501 and neither a file nor a row (the whole-body
    case: ``test_upload_limit_is_enforced_while_streaming``)."""
    c = Customer(client, tenant)
    await c.start()
    limit = rt.settings.max_upload_bytes
    assert limit == 25 * 1024 * 1024
    folder = Path(rt.settings.data_dir) / files.FOLDER / tenant.tenant_id
    before = set(folder.iterdir()) if folder.exists() else set()
    boundary = "gapsboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    ctype = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    declared = Counting(limit + 2 * 1024 * 1024, head)
    r = await client.post(
        f"{V2}/files",
        params=c.params(),
        content=declared,
        headers={**c.headers, **ctype, "Content-Length": str(declared.total)},
    )
    assert error_of(r) == (413, "5501")
    assert declared.sent == 0
    streamed = Counting(limit + 8 * 1024 * 1024, head)
    r = await client.post(
        f"{V2}/files", params=c.params(), content=streamed, headers={**c.headers, **ctype}
    )
    assert error_of(r) == (413, "5501")
    assert streamed.sent <= limit + 2 * 1024 * 1024, streamed.sent
    assert (set(folder.iterdir()) if folder.exists() else set()) == before
    async with rt.db.read() as s:
        count = (
            await s.execute(select(func.count()).where(ChatFile.tenant_id == tenant.tenant_id))
        ).scalar_one()
    assert count == 0


class Counting:
    """A request body of ``total`` bytes that counts what the server pulled."""

    def __init__(self, total: int, first: bytes) -> None:
        self.total, self.first, self.sent = total, first, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"\0" * (256 * 1024)
        self.sent += len(self.first)
        yield self.first
        while self.sent < self.total:
            part = chunk[: self.total - self.sent]
            self.sent += len(part)
            yield part
