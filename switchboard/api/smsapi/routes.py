"""Routes of the SMS/MMS API.

Seed methods: ``POST /Messages`` (Send Message), ``GET /Messages/{sid}`` (Get Message),
Bearer tokens of ``/configapi/v2/oauth/token`` whose user holds *Use SMS/MMS API*.
Our extensions: ``POST /inbound`` (a customer's message, from the carrier) and
``POST /status`` (a delivery report), authenticated by ``sms_inbound_secret``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from switchboard.api.common import bearer_token, safe_loads
from switchboard.auth.service import Principal, principal_from_token
from switchboard.core.errors import Forbidden, Invalid, Unauthorized, UnsupportedMediaType
from switchboard.core.runtime import Runtime
from switchboard.sms import actions, service
from switchboard.sms.schemas import InboundRead, SmsMessageRead
from switchboard.users.models import Privilege

router = APIRouter(prefix="/clientweb/smsapi/v1", tags=["SMS/MMS API"])

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_BODY_BYTES = 256 * 1024

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (error_code: 21211 To, 21212 From, 21602 Body...)"},
    401: {"description": "Missing, invalid or expired access token (20401)"},
    403: {"description": "The user lacks the privilege 'Use SMS/MMS API' (20403)"},
    404: {"description": "No such message (20404)"},
    415: {"description": "Content-Type is not application/json (20415)"},
}

SEND_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["To", "From"],
                    "properties": {
                        "To": {"type": "string", "description": "Destination, E.164"},
                        "From": {
                            "type": "string",
                            "description": "A text-capable access number of the tenant, E.164",
                        },
                        "Body": {
                            "type": "string",
                            "maxLength": actions.MAX_BODY,
                            "description": "Text; required unless MediaUrls is given",
                        },
                        "MediaUrls": {
                            "type": "array",
                            "maxItems": actions.MAX_MEDIA,
                            "items": {"type": "string", "format": "uri"},
                        },
                    },
                },
                "example": {
                    "To": "+5219843111460",
                    "Body": "Test message 5",
                    "From": "16502505674",
                },
            }
        },
    }
}


def _webhook_doc(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A webhook's body: the carrier's form (Twilio's way) or the same fields as JSON."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {ctype: {"schema": schema} for ctype in (*FORM_TYPES, *JSON_TYPES)},
        }
    }


def _s(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


INBOUND_DOC = _webhook_doc(
    ["To", "From"],
    {
        "To": _s("The tenant's text-capable access number, E.164"),
        "From": _s("The sender, E.164"),
        "Body": {"type": "string", "maxLength": actions.MAX_BODY},
        "MessageSid": _s("The carrier's id of the message"),
        "MediaUrls": {
            "type": "array",
            "maxItems": actions.MAX_MEDIA,
            "items": {"type": "string", "format": "uri"},
        },
        "NumMedia": _s("Twilio: how many MediaUrlN follow"),
        "MediaUrl0": {"type": "string", "format": "uri"},
    },
)
STATUS_DOC = _webhook_doc(
    ["MessageSid", "MessageStatus"],
    {
        "MessageSid": _s("The carrier's id of the message"),
        "MessageStatus": _s("queued, sent, delivered, undelivered, failed..."),
        "ErrorCode": _s("The carrier's error code"),
        "ErrorMessage": _s("The carrier's error text"),
    },
)


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def _sms_user(request: Request) -> Principal:
    token = bearer_token(request)
    if not token:
        raise Unauthorized("Authorization: Bearer <access token> is required")
    principal = await principal_from_token(_rt(request), token, ("oauth",))
    principal.require(Privilege.SMS_API)
    return principal


SmsUser = Annotated[Principal, Depends(_sms_user)]


async def _fields(request: Request, *, form_ok: bool = True) -> dict[str, Any]:
    """The request's fields: a JSON object, or (Twilio's way) a form."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in FORM_TYPES and form_ok:
        form = await request.form()
        out: dict[str, Any] = {}
        for key in form:
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            if key.lower() in ("mediaurl", "mediaurls"):
                out[key] = values
            elif values:
                out[key] = values[0]
        return out
    if ctype not in JSON_TYPES:
        raise UnsupportedMediaType(
            "Content-Type must be application/json" + (f", not {ctype}" if ctype else "")
        )
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Invalid("Request body too large")
    data = safe_loads(raw, code=None)  # depth, 64-bit integers, NUL (issue 12)
    if not isinstance(data, dict):
        raise Invalid("Request body must be a JSON object")
    return data


def _message(request: Request, model: SmsMessageRead) -> JSONResponse:
    return JSONResponse(model.model_dump(by_alias=True), headers={"Cache-Control": "no-store"})


@router.post(
    "/Messages",
    summary="Send Message",
    response_model=SmsMessageRead,
    openapi_extra=SEND_DOC,
    responses=ERRORS,
)
async def send_message(request: Request, principal: SmsUser) -> JSONResponse:
    req = actions.parse_send(await _fields(request))
    message = await actions.send(
        _rt(request), tenant_id=principal.tenant_id, user_id=principal.user_id, req=req
    )
    return _message(request, service.to_read(message))


@router.get(
    "/Messages/{sid}",
    summary="Get Message",
    response_model=SmsMessageRead,
    responses=ERRORS,
)
async def get_message(sid: str, request: Request, principal: SmsUser) -> JSONResponse:
    async with _rt(request).db.read() as s:
        message = await service.get_or_raise(session=s, tenant_id=principal.tenant_id, sid=sid)
        return _message(request, service.to_read(message))


# ---- webhooks (our extension) ----------------------------------------------------------


def _webhook_secret(request: Request, secret: str | None) -> None:
    expected = _rt(request).settings.sms_inbound_secret
    if not expected:
        raise Forbidden("The SMS webhooks are disabled (set sms_inbound_secret)")
    offered = [secret or "", request.headers.get("x-webhook-secret", ""), bearer_token(request)]
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            offered.append(base64.b64decode(value.strip()).decode().partition(":")[2])
        except (binascii.Error, UnicodeDecodeError):
            pass
    if not any(o and hmac.compare_digest(o.encode(), expected.encode()) for o in offered):
        raise Unauthorized("Invalid or missing webhook secret")


def _text(data: dict[str, Any], name: str, *, required: bool, code: str) -> str:
    value = actions.field_value(data, name)
    if value is None or value == "":
        if required:
            raise Invalid(f"'{name}' is required", code=code)
        return ""
    if not isinstance(value, str):
        raise Invalid(f"'{name}' must be a string", code=code)
    return value


def _media(data: dict[str, Any]) -> tuple[str, ...]:
    urls: list[str] = []
    listed = actions.field_value(data, "MediaUrls", "MediaUrl")
    if isinstance(listed, str):
        urls.append(listed)
    elif isinstance(listed, list):
        urls.extend(u for u in listed if isinstance(u, str))
    elif listed is not None:
        raise Invalid("'MediaUrls' must be an array of URLs", code="21620")
    # Twilio's webhook: NumMedia, MediaUrl0..MediaUrlN
    for i in range(actions.MAX_MEDIA):
        value = data.get(f"MediaUrl{i}")
        if isinstance(value, str) and value:
            urls.append(value)
    return tuple(urls[: actions.MAX_MEDIA])


@router.post(
    "/inbound",
    summary="Receive a message (webhook for the carrier; our extension)",
    response_model=InboundRead,
    openapi_extra=INBOUND_DOC,
    responses={
        400: {"description": "Invalid To/From"},
        401: {"description": "Missing or wrong webhook secret"},
        403: {"description": "Webhooks disabled (no sms_inbound_secret)"},
        404: {"description": "To is no text-capable access number"},
    },
)
async def inbound(
    request: Request,
    secret: Annotated[str | None, Query(description="the shared secret")] = None,
    tenant: Annotated[str | None, Query(description="the tenant's domain")] = None,
) -> JSONResponse:
    _webhook_secret(request, secret)
    data = await _fields(request)
    got = await actions.receive(
        _rt(request),
        to=_text(data, "To", required=True, code="21604"),
        from_=_text(data, "From", required=True, code="21603"),
        body=_text(data, "Body", required=False, code="21602")[: actions.MAX_BODY],
        media_urls=_media(data),
        tenant_domain=tenant,
        provider_sid=_text(data, "MessageSid", required=False, code="20400") or None,
    )
    body = InboundRead(
        sid=got.message.id,
        chat_id=got.chat_id,
        is_new_chat=got.is_new_chat,
        status=got.message.status,
    )
    return JSONResponse(body.model_dump())


@router.post(
    "/status",
    summary="Delivery report (webhook for the carrier; our extension)",
    openapi_extra=STATUS_DOC,
    responses={401: {"description": "Missing or wrong webhook secret"}},
)
async def status_report(
    request: Request,
    secret: Annotated[str | None, Query(description="the shared secret")] = None,
) -> JSONResponse:
    _webhook_secret(request, secret)
    data = await _fields(request)
    sid = _text(data, "MessageSid", required=True, code="20400")
    status = _text(data, "MessageStatus", required=True, code="20400")
    known = await actions.delivery_report(
        _rt(request),
        provider_sid=sid,
        status=status,
        error_code=_text(data, "ErrorCode", required=False, code="20400") or None,
        error=_text(data, "ErrorMessage", required=False, code="20400") or None,
    )
    return JSONResponse({"known": known})
