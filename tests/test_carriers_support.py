"""Support for the dialer and carrier tests (no tests here): the dialer's clock, a driver
that ticks the dialer until a condition holds, and a local fake of Twilio's Programmable
Voice REST API that checks what Twilio checks and calls back like Twilio (signed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import itertools
import time
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from switchboard.core.db import utcnow
from switchboard.core.runtime import Runtime
from switchboard.dialer.attempts import CLOCK_KEY
from switchboard.dialer.engine import get_dialer
from switchboard.telephony.twilio import signature
from tests.conftest import TenantInfo, free_port

# ---- the dialer's clock, and driving the dialer -------------------------------------------


class Clock:
    """The dialer's time: real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(rt: Runtime) -> Iterator[Clock]:
    c = Clock()
    rt.providers[CLOCK_KEY] = c
    yield c
    rt.providers.pop(CLOCK_KEY, None)


async def until(
    check: Callable[[], Awaitable[Any]],
    rt: Runtime,
    *,
    clock: Clock | None = None,
    step: float = 0.0,
    rounds: int = 60,
    pump: Callable[[], Awaitable[Any]] | None = None,
    other_processes: float = 0.0,
) -> Any:
    """Tick the dialer and wait for the calls it placed (and the carrier's events:
    ``pump`` delivers a fake carrier's callbacks) until ``check`` returns truthy; each
    round moves ``clock`` by ``step`` seconds. ``other_processes``: the seconds to allow
    live servers, which this process cannot drain."""
    dialer = get_dialer(rt)
    deadline = time.monotonic() + other_processes
    for _ in range(rounds if not other_processes else 10**6):
        await dialer.tick()
        await dialer.drain()
        if pump is not None:
            await pump()
            await dialer.drain()
        found = await check()
        if found:
            return found
        if clock is not None and step:
            clock.advance(step)
        if other_processes:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    raise AssertionError("the dialer never got there")


# ---- a fake Twilio ----------------------------------------------------------------------

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "fake-auth-token-" + "7" * 16


def wav(seconds: float, channels: int = 2, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(
            b"".join(
                (((i * 37) % 2000) - 1000).to_bytes(2, "little", signed=True) * channels
                for i in range(frames)
            )
        )
    return out.getvalue()


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str | None
    events: set[str]
    machine_detection: str | None
    record: bool
    recording_callback: str | None
    recording_events: set[str]
    status: str = "queued"
    answered_by: str | None = None
    bridged_to: str | None = None
    seq: int = 0


@dataclass
class FakeTwilio:
    """Twilio's Calls API as far as we use it. ``outcomes`` scripts what each number
    does (answer, machine, busy, no_answer, invalid, failed; default answer). Calls
    progress only when ``pump`` runs; callbacks are POSTed, signed, to the URLs the
    call gave, through ``deliver`` (our app, in-process or live)."""

    deliver: Callable[[str, dict[str, str], dict[str, str]], Awaitable[httpx.Response]]
    outcomes: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, FakeCall] = field(default_factory=dict)
    requests: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    rejected: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    callback_answers: list[int] = field(default_factory=list)
    recordings: dict[str, bytes] = field(default_factory=dict)
    base_url: str = ""
    _ids: Iterator[int] = field(default_factory=itertools.count)

    # ---- what Twilio checks --------------------------------------------------------

    def _auth_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == ACCOUNT and password == TOKEN

    def _error(self, status: int, code: int, message: str) -> JSONResponse:
        body = {"code": code, "message": message, "more_info": "", "status": status}
        self.rejected.append((status, body))
        return JSONResponse(body, status_code=status)

    def app(self) -> FastAPI:
        app = FastAPI()
        prefix = "/2010-04-01/Accounts/{account}"

        @app.post(prefix + "/Calls.json")
        async def create(account: str, request: Request) -> Response:
            if not self._auth_ok(request) or account != ACCOUNT:
                return self._error(401, 20003, "Authenticate")
            if request.headers.get("content-type") != "application/x-www-form-urlencoded":
                return self._error(400, 20001, "form body expected")
            form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
            self.requests.append(("POST", str(request.url.path), form))
            one = {k: v for k, v in form}
            many: dict[str, list[str]] = {}
            for k, v in form:
                many.setdefault(k, []).append(v)
            to, from_ = one.get("To", ""), one.get("From", "")
            if not to:
                return self._error(400, 21201, "No 'To' number is specified")
            if not from_:
                return self._error(400, 21213, "No 'From' number is specified")
            if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
                return self._error(400, 21211, f"Invalid 'To' Phone Number: {to}")
            if not one.get("Url") and not one.get("Twiml"):
                return self._error(400, 21205, "Url parameter is required")
            for key in ("Url", "StatusCallback", "RecordingStatusCallback"):
                if key in one and not one[key].startswith(("http://", "https://")):
                    return self._error(400, 21205, f"{key} is not a valid URL")
            events = set(many.get("StatusCallbackEvent", []))
            if not events <= {"initiated", "ringing", "answered", "completed"}:
                return self._error(400, 21626, "Invalid StatusCallbackEvent")
            amd = one.get("MachineDetection")
            if amd not in (None, "Enable", "DetectMessageEnd"):
                return self._error(400, 21626, "Invalid MachineDetection")
            record = one.get("Record", "false") == "true"
            rec_events = set(many.get("RecordingStatusCallbackEvent", ["completed"]))
            if not rec_events <= {"in-progress", "completed", "absent"}:
                return self._error(400, 21626, "Invalid RecordingStatusCallbackEvent")
            sid = f"CA{next(self._ids):032x}"
            self.calls[sid] = FakeCall(
                sid=sid,
                to=to,
                from_=from_,
                url=one.get("Url", ""),
                status_callback=one.get("StatusCallback"),
                events=events or {"completed"},
                machine_detection=amd,
                record=record,
                recording_callback=one.get("RecordingStatusCallback"),
                recording_events=rec_events,
            )
            self.pending.append(sid)
            return JSONResponse(
                {"sid": sid, "account_sid": ACCOUNT, "status": "queued", "to": to, "from": from_},
                status_code=201,
            )

        @app.post(prefix + "/Calls/{sid}.json")
        async def update(account: str, sid: str, request: Request) -> Response:
            if not self._auth_ok(request) or account != ACCOUNT:
                return self._error(401, 20003, "Authenticate")
            form = dict(parse_qsl((await request.body()).decode()))
            self.requests.append(("POST", str(request.url.path), list(form.items())))
            call = self.calls.get(sid)
            if call is None:
                return self._error(404, 20404, "not found")
            if form.get("Status") not in ("completed", "canceled"):
                return self._error(400, 21218, "Invalid Status")
            if call.status in ("queued", "ringing", "in-progress"):
                answered = call.status == "in-progress"
                call.status = "completed" if answered else "canceled"
                await self._status(call, "completed" if answered else "canceled")
                await self._recording(call)
            return JSONResponse({"sid": sid, "status": call.status})

        @app.get(prefix + "/Recordings/{name}")
        async def media(account: str, name: str, request: Request) -> Response:
            if not self._auth_ok(request) or account != ACCOUNT:
                return self._error(401, 20003, "Authenticate")
            rid, _, ext = name.partition(".")
            if rid not in self.recordings or ext not in ("wav", ""):
                return self._error(404, 20404, "not found")
            return Response(self.recordings[rid], media_type="audio/x-wav")

        return app

    # ---- calling back ------------------------------------------------------------------

    async def _post(self, url: str, params: dict[str, str]) -> httpx.Response:
        headers = {"X-Twilio-Signature": signature(TOKEN, url, params.items())}
        response = await self.deliver(url, params, headers)
        self.callback_answers.append(response.status_code)
        return response

    async def _status(self, call: FakeCall, status: str, **extra: str) -> None:
        wanted = {
            "initiated": "initiated",
            "ringing": "ringing",
            "in-progress": "answered",
        }.get(status, "completed")
        if call.status_callback is None or wanted not in call.events:
            return
        params = {
            "AccountSid": ACCOUNT,
            "CallSid": call.sid,
            "From": call.from_,
            "To": call.to,
            "CallStatus": status,
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.seq),
            "Timestamp": "Mon, 30 Nov 2026 14:00:00 +0000",
            **extra,
        }
        call.seq += 1
        await self._post(call.status_callback, params)

    async def _recording(self, call: FakeCall) -> None:
        if not call.record or call.recording_callback is None or call.answered_by is None:
            return
        if call.answered_by != "human":
            return
        rid = f"RE{next(self._ids):032x}"
        self.recordings[rid] = wav(1.5)
        await self._post(
            call.recording_callback,
            {
                "AccountSid": ACCOUNT,
                "CallSid": call.sid,
                "RecordingSid": rid,
                "RecordingUrl": f"{self.base_url}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{rid}",
                "RecordingStatus": "completed",
                "RecordingDuration": "2",
                "RecordingChannels": "2",
                "RecordingSource": "OutboundAPI",
            },
        )

    async def pump(self) -> None:
        """Run every new call to its outcome: status callbacks, then (answered) the
        TwiML request; a person stays on the line until ``hang_up`` or our hang-up."""
        while self.pending:
            call = self.calls[self.pending.pop(0)]
            outcome = self.outcome_of(call.to)
            await self._status(call, "initiated")
            if outcome in ("invalid", "failed"):
                call.status = "failed"
                code = "13224" if outcome == "invalid" else "31005"
                await self._status(call, "failed", ErrorCode=code)
                continue
            call.status = "ringing"
            await self._status(call, "ringing")
            if outcome in ("busy", "no_answer"):
                call.status = "busy" if outcome == "busy" else "no-answer"
                await self._status(call, call.status)
                continue
            call.status = "in-progress"
            await self._status(call, "in-progress")
            params = {
                "AccountSid": ACCOUNT,
                "CallSid": call.sid,
                "From": call.from_,
                "To": call.to,
                "CallStatus": "in-progress",
                "Direction": "outbound-api",
            }
            if call.machine_detection:
                call.answered_by = "machine_start" if outcome == "machine" else "human"
                params["AnsweredBy"] = call.answered_by
            else:
                call.answered_by = "human"
            response = await self._post(call.url, params)
            twiml = ElementTree.fromstring(response.content)
            verbs = list(twiml)
            if verbs and verbs[0].tag == "Dial":
                number = verbs[0].find("Number")
                call.bridged_to = number.text if number is not None else None
            else:
                call.status = "completed"
                await self._status(call, "completed", CallDuration="3")

    async def hang_up(self, sid: str) -> None:
        """The customer hangs up."""
        call = self.calls[sid]
        if call.status == "in-progress":
            call.status = "completed"
            await self._status(call, "completed", CallDuration="42")
            await self._recording(call)

    def outcome_of(self, number: str) -> str:
        """The number's scripted outcome (a list: one per call, the last repeats)."""
        found = self.outcomes.get(number, "answer")
        if isinstance(found, list):
            return str(found.pop(0) if len(found) > 1 else found[0])
        return str(found)

    def call_to(self, number: str) -> FakeCall:
        found = [c for c in self.calls.values() if c.to == number]
        assert found, f"no call to {number}"
        return found[-1]


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free local port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def asgi_delivery(
    app: Any, public_url: str
) -> Callable[[str, dict[str, str], dict[str, str]], Awaitable[httpx.Response]]:
    """Callbacks to ``public_url`` go to ``app`` in-process (the public URL is what the
    signature covers)."""

    async def deliver(url: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        assert url.startswith(public_url), url
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            return await c.post(url[len(public_url) :], data=params, headers=headers)

    return deliver


PUBLIC = "https://switchboard.example.test"


@pytest.fixture
async def twilio(
    rt: Runtime, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeTwilio]:
    """Our runtime on the ``twilio`` carrier, pointed at a fake Twilio on a local port
    whose callbacks reach the app in-process at ``PUBLIC``."""
    fake = FakeTwilio(deliver=asgi_delivery(app, PUBLIC))
    async with serve(fake.app()) as url:
        fake.base_url = url
        for key, value in {
            "telephony_provider": "twilio",
            "twilio_account_sid": ACCOUNT,
            "twilio_auth_token": TOKEN,
            "twilio_api_base": url,
            "public_url": PUBLIC,
        }.items():
            monkeypatch.setattr(rt.settings, key, value)
        saved = {k: rt.providers.pop(k, None) for k in ("telephony", "telephony.recordings.twilio")}
        try:
            yield fake
        finally:
            for key, old in saved.items():
                made = rt.providers.pop(key, None)
                if made is not None:
                    await made.close()
                if old is not None:
                    rt.providers[key] = old


async def agent_login(client: httpx.AsyncClient, t: TenantInfo, login: str) -> dict[str, str]:
    r = await client.post(
        "/agentapi/v1/login",
        json={"tenant": t.domain, "loginId": login, "password": t.password, "state": "ready"},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
