"""Carriers calling us back (``/carriers/...``), and the carrier options of campaigns.

Twilio: ``POST /carriers/twilio/calls/{call id}/status`` (status callbacks),
``/answer`` (the TwiML fetched when the called party answers: the bridge to the agent's
phone, or a hang-up for a machine) and ``/recording`` (recording status). Every request
must carry a valid ``X-Twilio-Signature`` over ``public_url`` + the path (403 otherwise);
an unknown call is 404.

Configuration API extension (privilege *Manage campaigns*):
``GET|PUT /configapi/v2/campaign/{name}/carrier`` —
``{"answeringMachineDetection": "off" | "enable" | "detect_message_end", "record": true}``.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from switchboard.api.common import body_doc, parse
from switchboard.api.configapi.deps import require
from switchboard.auth.service import Principal
from switchboard.core.errors import Forbidden, NotFound
from switchboard.core.runtime import Runtime
from switchboard.dialer import calls
from switchboard.telephony import actions, service, twilio
from switchboard.telephony.protocol import CallEvent
from switchboard.users.models import Privilege

router = APIRouter(tags=["Carriers"])


def _twilio_doc(**fields: str) -> dict[str, object]:
    """A Twilio callback's body: a form signed by ``X-Twilio-Signature``."""
    properties = {
        "CallSid": {"type": "string", "description": "Twilio's id of the call"},
        **{name: {"type": "string", "description": text} for name, text in fields.items()},
    }
    schema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": {"type": "string"},
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


STATUS_DOC = _twilio_doc(
    CallStatus="queued, ringing, in-progress, completed, busy, failed, no-answer, canceled",
    AnsweredBy="Answering machine detection: human, machine_start, fax, unknown...",
    CallDuration="Seconds",
)
ANSWER_DOC = _twilio_doc(AnsweredBy="Answering machine detection: human, machine_start...")
RECORDING_DOC = _twilio_doc(
    RecordingSid="Twilio's id of the recording",
    RecordingStatus="in-progress, completed, absent, failed",
    RecordingUrl="Where the recording is (completed)",
    RecordingDuration="Seconds",
)


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def _signed_form(request: Request) -> dict[str, str]:
    """The callback's form, once its ``X-Twilio-Signature`` checks out (403)."""
    rt = _rt(request)
    # bytes that are no UTF-8 cannot carry a valid signature: refused below, never a 500
    pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    public = (rt.settings.public_url or "").rstrip("/")
    url = public + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    token = rt.settings.twilio_auth_token or ""
    if not public or not twilio.valid_signature(
        token, url, pairs, request.headers.get("x-twilio-signature", "")
    ):
        raise Forbidden("Invalid X-Twilio-Signature")
    return dict(pairs)


async def _known(rt: Runtime, call_id: str, form: dict[str, str]) -> None:
    async with rt.db.read() as s:
        call = await service.get_call(session=s, call_id=call_id)
    sid = form.get("CallSid")
    if call is None or (call.carrier_sid and sid and sid != call.carrier_sid):
        raise NotFound(f"Unknown call {call_id}")


@router.post(
    twilio.CALLBACK_PREFIX + "/{call_id}/status",
    summary="Twilio status callback",
    openapi_extra=STATUS_DOC,
    status_code=204,
)
async def twilio_status(call_id: str, request: Request) -> Response:
    rt = _rt(request)
    form = await _signed_form(request)
    await _known(rt, call_id, form)
    event = twilio.parse_status(call_id, form)
    if event is not None:
        await calls.on_event(rt, event)
    return Response(status_code=204)


@router.post(
    twilio.CALLBACK_PREFIX + "/{call_id}/answer",
    summary="Twilio: the TwiML of an answered call",
    openapi_extra=ANSWER_DOC,
    response_class=Response,
)
async def twilio_answer(call_id: str, request: Request) -> Response:
    rt = _rt(request)
    form = await _signed_form(request)
    await _known(rt, call_id, form)
    event: CallEvent = twilio.parse_answer(call_id, form)
    bridge = await calls.answer(rt, event)
    async with rt.db.read() as s:
        call = await service.get_call(session=s, call_id=call_id)
    body = (
        twilio.twiml_bridge(bridge, call.caller_id if call else None)
        if bridge
        else twilio.twiml_hangup()
    )
    return Response(body, media_type="application/xml")


@router.post(
    twilio.CALLBACK_PREFIX + "/{call_id}/recording",
    summary="Twilio recording status callback",
    openapi_extra=RECORDING_DOC,
    status_code=204,
)
async def twilio_recording(call_id: str, request: Request) -> Response:
    rt = _rt(request)
    form = await _signed_form(request)
    await _known(rt, call_id, form)
    event = twilio.parse_recording(call_id, form)
    if event is not None:
        await calls.on_event(rt, event)
    return Response(status_code=204)


# ---- carrier options of campaigns (Configuration API extension) -----------------------

Manager = Annotated[Principal, Depends(require(Privilege.MANAGE_CAMPAIGNS))]
Detection = Literal["off", "enable", "detect_message_end"]


class CarrierOptions(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    answering_machine_detection: Detection | None = Field(
        default=None, alias="answeringMachineDetection"
    )
    record: bool | None = None


class CarrierOptionsRead(BaseModel):
    answeringMachineDetection: str
    record: bool


@router.get(
    "/configapi/v2/campaign/{name}/carrier",
    summary="A campaign's carrier options",
    response_model=CarrierOptionsRead,
    tags=["Configuration API: campaigns"],
)
async def get_options(name: str, request: Request, principal: Manager) -> CarrierOptionsRead:
    async with _rt(request).db.read() as s:
        found = await service.campaign_options(
            session=s, tenant_id=principal.tenant_id, campaign=name
        )
    return CarrierOptionsRead(
        answeringMachineDetection=found.machine_detection, record=found.record
    )


@router.put(
    "/configapi/v2/campaign/{name}/carrier",
    summary="Change a campaign's carrier options",
    response_model=CarrierOptionsRead,
    openapi_extra=body_doc(CarrierOptions),
    tags=["Configuration API: campaigns"],
)
async def put_options(name: str, request: Request, principal: Manager) -> CarrierOptionsRead:
    body = await parse(request, CarrierOptions)
    found = await actions.set_campaign_options(
        _rt(request),
        tenant_id=principal.tenant_id,
        campaign=name,
        machine_detection=body.answering_machine_detection,
        record=body.record,
    )
    return CarrierOptionsRead(
        answeringMachineDetection=found.machine_detection, record=found.record
    )
