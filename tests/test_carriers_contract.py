"""The telephony contract: what every ``Telephony`` implementation does, checked on each.

* ``simulated``: the built-in carrier;
* ``twilio-fake``: the Twilio adapter against a fake Twilio on a local port (real HTTP),
  whose signed callbacks reach a receiver that verifies and parses them with the
  adapter's own functions;
* ``twilio-builder``: the adapter configured for Twilio's real address; its requests are
  captured (nothing leaves the machine), checked to be the documented ones
  (``https://api.twilio.com/2010-04-01/Accounts/{sid}/Calls.json``, HTTP Basic,
  form-encoded) and answered by the same fake.

The contract: a call returns the carrier's id at once; an answer is reported as
``answered`` (a machine as ``machine`` when detection was asked for); busy, no answer and
invalid numbers end the call with that outcome (an invalid number may also be refused at
once with ``CarrierError("invalid")``); hanging up an answered call ends it; hanging up
again, or an unknown call, is harmless.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from switchboard.core.runtime import Runtime
from switchboard.telephony import CallEvent, CallRequest, CarrierError, Telephony
from switchboard.telephony.simulated import SimulatedCarrier
from switchboard.telephony.twilio import (
    TwilioCarrier,
    parse_answer,
    parse_recording,
    parse_status,
    signature,
    twiml_bridge,
    twiml_hangup,
    valid_signature,
)
from tests.test_carriers_support import ACCOUNT, TOKEN, FakeTwilio, serve

PUBLIC = "https://switchboard.example.test"
NUMBERS = {
    "+14155550301": "answer",
    "+14155550302": "busy",
    "+14155550303": "no_answer",
    "+14155550304": "invalid",
    "+14155550305": "machine",
}


@dataclass
class Harness:
    carrier: Telephony
    events: list[CallEvent]
    run: Callable[[], Awaitable[None]]  # let the carrier's calls progress
    extra: dict[str, Any] = field(default_factory=dict)


def receiver(events: list[CallEvent], agents: dict[str, str | None]) -> FastAPI:
    """Our side of Twilio's callbacks, reduced to the adapter's functions: signature,
    parsing, TwiML."""
    app = FastAPI()

    @app.post("/carriers/twilio/calls/{call_id}/{what}")
    async def callback(call_id: str, what: str, request: Request) -> Response:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        url = PUBLIC + request.url.path
        assert valid_signature(TOKEN, url, pairs, request.headers["x-twilio-signature"])
        form = dict(pairs)
        if what == "answer":
            event = parse_answer(call_id, form)
            events.append(event)
            if event.outcome == "machine":
                return Response(twiml_hangup(), media_type="application/xml")
            return Response(twiml_bridge(agents.get(call_id), None), media_type="application/xml")
        parsed = parse_status(call_id, form) if what == "status" else parse_recording(call_id, form)
        if parsed is not None:
            events.append(parsed)
        return Response(status_code=204)

    return app


def deliver_to(app: FastAPI) -> Callable[..., Awaitable[httpx.Response]]:
    async def deliver(url: str, params: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://receiver"
        ) as c:
            return await c.post(url[len(PUBLIC) :], data=params, headers=headers)

    return deliver


@pytest.fixture(params=["simulated", "twilio-fake", "twilio-builder"])
async def harness(request: pytest.FixtureRequest, rt: Runtime) -> AsyncIterator[Harness]:
    events: list[CallEvent] = []
    agents: dict[str, str | None] = {}
    kind = request.param
    if kind == "simulated":
        settings = rt.settings.model_copy(
            update={
                "telephony_sim_ring_seconds": 0.0,
                "telephony_sim_script": {n: [o] for n, o in NUMBERS.items()},
            }
        )

        async def sink(event: CallEvent) -> None:
            events.append(event)

        sim = SimulatedCarrier(SimpleNamespace(settings=settings), sink)  # type: ignore[arg-type]
        yield Harness(sim, events, sim.drain)
        await sim.close()
        return
    fake = FakeTwilio(deliver=deliver_to(receiver(events, agents)), outcomes=dict(NUMBERS))
    captured: list[httpx.Request] = []
    if kind == "twilio-fake":
        async with serve(fake.app()) as url:
            fake.base_url = url
            settings = rt.settings.model_copy(
                update={
                    "twilio_account_sid": ACCOUNT,
                    "twilio_auth_token": TOKEN,
                    "twilio_api_base": url,
                    "public_url": PUBLIC,
                }
            )
            carrier = TwilioCarrier(SimpleNamespace(settings=settings))  # type: ignore[arg-type]
            yield Harness(carrier, events, fake.pump, {"agents": agents, "fake": fake})
            await carrier.close()
        return

    fake_app = fake.app()

    async def twilio_itself(req: httpx.Request) -> httpx.Response:
        """Where Twilio's real address would answer: check, then let the fake answer."""
        captured.append(req)
        assert req.url.scheme == "https" and req.url.host == "api.twilio.com"
        assert req.url.path.startswith(f"/2010-04-01/Accounts/{ACCOUNT}/")
        auth = base64.b64decode(req.headers["authorization"].removeprefix("Basic ")).decode()
        assert auth == f"{ACCOUNT}:{TOKEN}"
        if req.method == "POST":
            assert req.headers["content-type"] == "application/x-www-form-urlencoded"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake_app), base_url="http://fake"
        ) as c:
            answer = await c.request(
                req.method, req.url.path, content=req.content, headers=dict(req.headers)
            )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    settings = rt.settings.model_copy(
        update={"twilio_account_sid": ACCOUNT, "twilio_auth_token": TOKEN, "public_url": PUBLIC}
    )
    assert settings.twilio_api_base == "https://api.twilio.com"
    carrier = TwilioCarrier(
        SimpleNamespace(settings=settings),  # type: ignore[arg-type]
        transport=httpx.MockTransport(twilio_itself),
    )
    yield Harness(carrier, events, fake.pump, {"agents": agents, "captured": captured})
    await carrier.close()


def request_for(number: str, call_id: str, *, amd: str = "off") -> CallRequest:
    return CallRequest(
        tenant_id="t",
        call_id=call_id,
        number=number,
        caller_id="+16505550000",
        attempt_number=1,
        agent_number="+16505550111",
        machine_detection=amd,
        record=True,
    )


def final(events: list[CallEvent], call_id: str) -> list[CallEvent]:
    """The verdicts and ends of a call (an answer without a verdict is progress)."""
    return [
        e
        for e in events
        if e.call_id == call_id
        and (e.kind == "ended" or (e.kind == "answered" and e.outcome is not None))
    ]


async def test_telephony_contract(harness: Harness) -> None:
    carrier, events = harness.carrier, harness.events
    ids = {n: f"00000000-0000-0000-0000-00000000030{n[-1]}" for n in NUMBERS}
    agents = harness.extra.get("agents", {})
    refused: dict[str, str] = {}
    for number, call_id in ids.items():
        agents[call_id] = "+16505550111"
        amd = "enable" if NUMBERS[number] == "machine" else "off"
        try:
            sid = await carrier.place_call(request_for(number, call_id, amd=amd))
        except CarrierError as e:
            refused[number] = e.outcome
            continue
        assert isinstance(sid, str) and sid
    await harness.run()
    outcomes: dict[str, str | None] = {}
    for number, call_id in ids.items():
        if number in refused:
            outcomes[number] = refused[number]
            continue
        first = final(events, call_id)[0]
        outcomes[number] = first.outcome
        assert first.kind == ("answered" if NUMBERS[number] in ("answer", "machine") else "ended")
    assert outcomes == {n: o for n, o in NUMBERS.items()}

    answered = ids["+14155550301"]
    sid = next(e.carrier_sid for e in events if e.call_id == answered and e.carrier_sid)
    await carrier.hangup(answered, sid)
    await harness.run()
    assert [e.kind for e in final(events, answered)][-1] == "ended"
    await carrier.hangup(answered, sid)  # again: harmless
    await carrier.hangup("ffffffff-0000-0000-0000-000000000000", None)  # unknown: harmless
    if "captured" in harness.extra:
        kinds = [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in harness.extra["captured"]]
        assert kinds.count(("POST", "Calls.json")) == len(NUMBERS)


def test_twilio_signature_vector() -> None:
    """The example of Twilio's webhook-security documentation."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert valid_signature("12345", url, params.items(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_signature(
        "12345", url + "&x=1", params.items(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
