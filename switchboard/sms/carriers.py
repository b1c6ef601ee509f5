"""The SMS carrier behind the ``SmsCarrier`` protocol, chosen by ``sms_provider``.

* ``fake`` (default): sends nothing; records each message in memory (``sent``) and in
  the log, and reports it delivered (an MMS stays ``sent``: MMS has no delivery report).
  ``sms_fake_failures`` (E.164 -> error message) makes chosen destinations fail.
* ``http``: a Twilio-compatible REST endpoint (``sms_http_url``, the account's
  ``Messages.json``), form-encoded ``To``/``From``/``Body``/``MediaUrl``, HTTP Basic
  authentication with ``sms_http_account`` / ``sms_http_token``; delivery is checked by
  ``GET <sms_http_url without .json>/<sid>.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import httpx

from switchboard.core import metrics
from switchboard.core.runtime import Runtime

log = logging.getLogger(__name__)

CarrierStatus = Literal["sent", "delivered", "failed"]


@dataclass(frozen=True)
class OutgoingSms:
    message_id: str
    tenant_id: str
    from_e164: str
    to_e164: str
    body: str
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class CarrierResult:
    status: CarrierStatus
    provider_sid: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class SmsCarrier(Protocol):
    # whether ``status`` can tell more than ``send`` did (the worker polls it then)
    checks_status: bool

    async def send(self, message: OutgoingSms) -> CarrierResult:
        """Hand the message to the carrier; ``sent``, ``delivered`` or ``failed``."""
        ...

    async def status(self, provider_sid: str) -> CarrierResult | None:
        """The message's delivery status now (None: unknown, ask again later)."""
        ...

    async def close(self) -> None: ...


class FakeCarrier:
    checks_status = False

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.sent: list[OutgoingSms] = []

    async def send(self, message: OutgoingSms) -> CarrierResult:
        sid = "FAKE" + message.message_id.replace("-", "")
        failure = self._rt.settings.sms_fake_failures.get(message.to_e164)
        if failure is not None:
            return CarrierResult("failed", sid, "30003", failure)
        self.sent.append(message)
        log.info("fake SMS %s -> %s: %r", message.from_e164, message.to_e164, message.body)
        return CarrierResult("sent" if message.media_urls else "delivered", sid)

    async def status(self, provider_sid: str) -> CarrierResult | None:
        return None

    async def close(self) -> None:
        return None


# Twilio's message statuses, mapped to the seed's four
_STATUS: dict[str, CarrierStatus | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


class HttpCarrier:
    checks_status = True

    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        if not settings.sms_http_url:
            raise RuntimeError("sms_provider 'http' needs sms_http_url")
        self._url = settings.sms_http_url
        auth = None
        if settings.sms_http_account and settings.sms_http_token:
            auth = httpx.BasicAuth(settings.sms_http_account, settings.sms_http_token)
        self._client = httpx.AsyncClient(auth=auth, timeout=settings.sms_http_timeout_seconds)

    def _result(self, data: dict[str, Any], fallback: CarrierStatus | None) -> CarrierResult | None:
        status = _STATUS.get(str(data.get("status", "")).lower(), fallback)
        if status is None:
            return None
        code = data.get("error_code")
        return CarrierResult(
            status,
            str(data["sid"]) if data.get("sid") else None,
            str(code) if code is not None else None,
            str(data["error_message"]) if data.get("error_message") else None,
        )

    async def send(self, message: OutgoingSms) -> CarrierResult:
        form: list[tuple[str, str]] = [("To", message.to_e164), ("From", message.from_e164)]
        if message.body:
            form.append(("Body", message.body))
        form.extend(("MediaUrl", url) for url in message.media_urls)
        try:
            # form-encoded by hand: ``MediaUrl`` repeats once per media file
            r = await self._client.post(
                self._url,
                content=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except httpx.HTTPError as e:
            metrics.carrier_error("sms-http", "unreachable")
            return CarrierResult("failed", None, "30008", f"Carrier unreachable: {e}")
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code >= 400 or not isinstance(data, dict):
            metrics.carrier_error("sms-http", "rejected")
            message_text = data.get("message") if isinstance(data, dict) else None
            code = data.get("code") if isinstance(data, dict) else None
            return CarrierResult(
                "failed",
                None,
                str(code) if code is not None else str(r.status_code),
                str(message_text or f"Carrier answered HTTP {r.status_code}"),
            )
        return self._result(data, "sent") or CarrierResult("sent", str(data.get("sid") or ""))

    async def status(self, provider_sid: str) -> CarrierResult | None:
        base = self._url[: -len(".json")] if self._url.endswith(".json") else self._url
        try:
            r = await self._client.get(f"{base.rstrip('/')}/{provider_sid}.json")
            data = r.json()
        except (httpx.HTTPError, ValueError):
            return None
        if r.status_code >= 400 or not isinstance(data, dict):
            return None
        return self._result(data, None)

    async def close(self) -> None:
        await self._client.aclose()


PROVIDERS: dict[str, Callable[[Runtime], SmsCarrier]] = {"fake": FakeCarrier, "http": HttpCarrier}


def get_carrier(rt: Runtime) -> SmsCarrier:
    """The runtime's SMS carrier (created once per runtime)."""
    found = rt.providers.get("sms")
    if found is None:
        factory = PROVIDERS.get(rt.settings.sms_provider)
        if factory is None:
            raise RuntimeError(f"unknown sms_provider {rt.settings.sms_provider!r}")
        found = factory(rt)
        rt.providers["sms"] = found
    carrier: SmsCarrier = found
    return carrier
