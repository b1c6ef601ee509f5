"""Twilio Programmable Voice: the ``twilio`` carrier.

Requests (form-encoded, HTTP Basic ``account SID : auth token``, base
``twilio_api_base``, ``https://api.twilio.com`` by default):

* create a call: ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` with ``To``,
  ``From`` (the campaign's caller id), ``Url`` (our TwiML, fetched when the called party
  answers: it bridges the call to the agent's phone, or hangs up on a machine),
  ``StatusCallback`` + ``StatusCallbackEvent`` (initiated, ringing, answered,
  completed), ``Timeout``, and when asked ``MachineDetection`` (``Enable`` or
  ``DetectMessageEnd``; the verdict ``AnsweredBy`` comes with the TwiML request) and
  ``Record`` (dual channels, ``RecordingStatusCallback``);
* hang up: ``POST .../Calls/{CallSid}.json`` with ``Status=completed``;
* a recording's audio: ``GET {RecordingUrl}.wav``.

Twilio calls back on ``public_url`` (``/carriers/twilio/calls/{our call id}/...``) and
signs each request: ``X-Twilio-Signature`` is the Base64 HMAC-SHA1, keyed with the auth
token, of the full URL followed by every POST parameter's name and value, sorted by
name. ``signature``/``valid_signature`` compute and check it; the ``parse_*`` functions
turn a callback's form into a ``CallEvent``. The request builders (``create_call_request``,
``hangup_request``) are pure, so the contract test checks them against a fake Twilio.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx

from switchboard.core.runtime import Runtime
from switchboard.telephony.protocol import (
    CallEvent,
    CallRequest,
    CarrierError,
    EventSink,
    Outcome,
)

API_VERSION = "2010-04-01"
CALLBACK_PREFIX = "/carriers/twilio/calls"
MACHINE_DETECTION = {"enable": "Enable", "detect_message_end": "DetectMessageEnd"}
# Twilio error codes that mean the number itself is wrong (the record moves on to its
# next number): invalid 'To', unreachable, not a valid phone number, invalid dial string
INVALID_NUMBER_CODES = {21211, 21214, 21217, 13223, 13224}
# SIP answers that mean the same on a failed call
INVALID_SIP = {"404", "484", "604"}


# ---- signatures -------------------------------------------------------------------------


def signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """What Twilio puts in ``X-Twilio-Signature`` for a POST of ``params`` to ``url``."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    if not given or not token:
        return False
    return hmac.compare_digest(signature(token, url, params), given)


# ---- callbacks ---------------------------------------------------------------------------


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _sequence(form: Mapping[str, str]) -> int | None:
    raw = form.get("SequenceNumber")
    return int(raw) if raw is not None and raw.isdigit() else None


def verdict(answered_by: str | None) -> Outcome:
    """An ``AnsweredBy`` value as an outcome (``unknown`` counts as a person)."""
    if answered_by and (answered_by.startswith("machine") or answered_by == "fax"):
        return "machine"
    return "answer"


def parse_status(call_id: str, form: Mapping[str, str]) -> CallEvent | None:
    """A status callback (``CallStatus``...); None when it says nothing we use."""
    status = form.get("CallStatus", "")
    sid = form.get("CallSid")
    seq = _sequence(form)
    answered_by = form.get("AnsweredBy")
    if status in ("queued", "initiated", "ringing"):
        return CallEvent(call_id, "ringing", status, carrier_sid=sid, sequence=seq)
    if status == "in-progress":
        return CallEvent(
            call_id,
            "answered",
            status,
            outcome=verdict(answered_by) if answered_by else None,
            carrier_sid=sid,
            answered_by=answered_by,
            sequence=seq,
        )
    if status == "completed":
        return CallEvent(
            call_id,
            "ended",
            status,
            carrier_sid=sid,
            answered_by=answered_by,
            sequence=seq,
            duration=_int(form.get("CallDuration")),
        )
    outcome: Outcome
    if status == "busy":
        outcome = "busy"
    elif status == "no-answer":
        outcome = "no_answer"
    elif status == "failed" and (
        form.get("SipResponseCode") in INVALID_SIP
        or _int(form.get("ErrorCode")) in INVALID_NUMBER_CODES
    ):
        outcome = "invalid"
    elif status in ("failed", "canceled"):
        outcome = "failed"
    else:
        return None
    return CallEvent(
        call_id,
        "ended",
        status,
        outcome=outcome,
        carrier_sid=sid,
        sequence=seq,
        error=form.get("ErrorMessage") or form.get("ErrorCode") or None,
    )


def parse_answer(call_id: str, form: Mapping[str, str]) -> CallEvent:
    """The TwiML request Twilio makes when the call is answered (after answering-
    machine detection, whose verdict is ``AnsweredBy``)."""
    answered_by = form.get("AnsweredBy")
    return CallEvent(
        call_id,
        "answered",
        "in-progress",
        outcome=verdict(answered_by),
        carrier_sid=form.get("CallSid"),
        answered_by=answered_by,
    )


def parse_recording(call_id: str, form: Mapping[str, str]) -> CallEvent | None:
    status = form.get("RecordingStatus", "")
    if status not in ("completed", "absent", "failed"):
        return None
    return CallEvent(
        call_id,
        "recording",
        status,
        carrier_sid=form.get("CallSid"),
        recording_sid=form.get("RecordingSid"),
        recording_url=form.get("RecordingUrl") if status == "completed" else None,
        recording_duration=_int(form.get("RecordingDuration")),
    )


# ---- TwiML -------------------------------------------------------------------------------


def twiml_bridge(agent_number: str | None, caller_id: str | None) -> str:
    """Connect the answered call to the agent's phone (nobody to connect: hang up)."""
    if not agent_number:
        return twiml_hangup()
    attrs = f" callerId={quoteattr(caller_id)}" if caller_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Dial{attrs}><Number>{escape(agent_number)}</Number></Dial></Response>"
    )


def twiml_hangup() -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'


# ---- the carrier -------------------------------------------------------------------------


class TwilioCarrier:
    name = "twilio"

    def __init__(
        self, rt: Runtime, sink: EventSink | None = None, *, transport: Any = None
    ) -> None:
        settings = rt.settings
        self.account = settings.twilio_account_sid or ""
        self.token = settings.twilio_auth_token or ""
        self.base = settings.twilio_api_base.rstrip("/")
        self.public_url = (settings.public_url or "").rstrip("/")
        self.ring_seconds = settings.twilio_ring_seconds
        self._client = httpx.AsyncClient(
            timeout=settings.twilio_timeout_seconds, transport=transport
        )

    # ---- request builders (pure) ---------------------------------------------------

    def _check(self) -> None:
        if not self.account or not self.token:
            raise CarrierError("twilio_account_sid and twilio_auth_token must be set")
        if not self.public_url:
            raise CarrierError("public_url must be set: Twilio calls this server back there")

    def _auth(self) -> dict[str, str]:
        raw = f"{self.account}:{self.token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def callback_url(self, call_id: str, what: str) -> str:
        return f"{self.public_url}{CALLBACK_PREFIX}/{call_id}/{what}"

    def create_call_request(self, request: CallRequest) -> httpx.Request:
        """``POST .../Calls.json`` for ``request`` (nothing is sent)."""
        self._check()
        if not request.caller_id:
            raise CarrierError("Twilio needs a caller id (the campaign's callerId)")
        form: dict[str, Any] = {
            "To": request.number,
            "From": request.caller_id,
            "Url": self.callback_url(request.call_id, "answer"),
            "Method": "POST",
            "StatusCallback": self.callback_url(request.call_id, "status"),
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
            "Timeout": str(self.ring_seconds),
        }
        amd = MACHINE_DETECTION.get(request.machine_detection)
        if amd:
            form["MachineDetection"] = amd
        if request.record:
            form.update(
                Record="true",
                RecordingChannels="dual",
                RecordingStatusCallback=self.callback_url(request.call_id, "recording"),
                RecordingStatusCallbackMethod="POST",
                RecordingStatusCallbackEvent=["completed", "absent"],
            )
        url = f"{self.base}/{API_VERSION}/Accounts/{self.account}/Calls.json"
        return self._client.build_request("POST", url, data=form, headers=self._auth())

    def hangup_request(self, carrier_sid: str) -> httpx.Request:
        self._check()
        url = f"{self.base}/{API_VERSION}/Accounts/{self.account}/Calls/{carrier_sid}.json"
        return self._client.build_request(
            "POST", url, data={"Status": "completed"}, headers=self._auth()
        )

    def recording_request(self, url: str) -> httpx.Request:
        self._check()
        if not url.rsplit("/", 1)[-1].count("."):
            url += ".wav"
        return self._client.build_request("GET", url, headers=self._auth())

    # ---- sending -------------------------------------------------------------------

    @staticmethod
    def _error(response: httpx.Response) -> CarrierError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        text = f"Twilio {response.status_code}: {code or ''} {message or response.text[:200]}"
        invalid = isinstance(code, int) and code in INVALID_NUMBER_CODES
        return CarrierError(text.strip(), "invalid" if invalid else "failed")

    async def place_call(self, request: CallRequest) -> str:
        try:
            response = await self._client.send(self.create_call_request(request))
        except httpx.HTTPError as e:
            raise CarrierError(f"Twilio unreachable: {e}") from e
        if response.status_code not in (200, 201):
            raise self._error(response)
        sid = response.json().get("sid")
        if not isinstance(sid, str) or not sid:
            raise CarrierError("Twilio answered without a call sid")
        return sid

    async def hangup(self, call_id: str, carrier_sid: str | None) -> None:
        if not carrier_sid:
            return
        response = await self._client.send(self.hangup_request(carrier_sid))
        if response.status_code == 404:
            return  # gone already
        if response.status_code >= 400:
            raise self._error(response)

    async def fetch_recording(self, url: str) -> tuple[bytes, str]:
        response = await self._client.send(self.recording_request(url))
        if response.status_code != 200:
            raise self._error(response)
        return response.content, response.headers.get("content-type", "audio/x-wav")

    async def drain(self) -> None:
        return None

    async def close(self) -> None:
        await self._client.aclose()
