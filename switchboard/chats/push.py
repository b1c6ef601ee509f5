"""Push notifications to mobile clients subscribed through v2 ``chats/{id}/notifications``.

The chat engine calls ``notify`` after the commit when an agent writes and the customer
holds no poll. How it is sent is chosen per tenant (tenant setting ``push_provider``,
else the server's ``SWITCHBOARD_PUSH_PROVIDER``):

* ``native``: the vendors' own services with the tenant's credentials —
  ``ios_apns`` tokens go to the **Apple Push Notification service** (HTTP/2, token
  authentication: an ES256 JWT signed with the tenant's ``.p8`` key, ``kid`` = key id,
  ``iss`` = team id, renewed every 50 minutes; ``apns-topic`` = the app's bundle id);
  ``ios_firebase`` / ``android_firebase`` tokens go to **Firebase Cloud Messaging HTTP
  v1** (``projects/{project}/messages:send``) with an OAuth2 access token that
  ``google-auth`` obtains from the tenant's service-account key (JWT bearer grant);
* ``webhook``: POSTs each notification as JSON to ``SWITCHBOARD_CHAT_PUSH_WEBHOOK_URL``
  (a push gateway of the operator's; 410 means the token is no longer valid);
* ``fake`` (default): keeps every notification in memory (tests, development).

Payloads stay within the services' 4 KB limit (the text is shortened). A token the
service says is no longer valid (APNs 410 / ``BadDeviceToken``, FCM ``UNREGISTERED``) is
removed from the chat in its own short transaction; any other failure is logged and
dropped: the chat's log stays the truth and the client reads it when it polls again.
``rt.providers["push"]`` may hold one sender for every tenant (tests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import jwt
from google.auth import transport as google_transport
from google.oauth2 import service_account
from sqlalchemy import delete

from switchboard.chats.config import chat_settings
from switchboard.chats.models import ChatPushSubscription
from switchboard.core import metrics
from switchboard.core.runtime import Runtime
from switchboard.tenants.models import Tenant

log = logging.getLogger(__name__)

PROVIDER_KEY = "push"
KINDS = ("ios_apns", "ios_firebase", "android_firebase")
MAX_PAYLOAD = 4096  # bytes, APNs and FCM alike
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
APNS_HOSTS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}
APNS_TOKEN_SECONDS = 50 * 60  # Apple: at most one hour, not more often than every 20 minutes

Delivery = Literal["sent", "invalid_token", "failed"]


@dataclass(frozen=True)
class PushSettings:
    """The ``push_*`` fields of the one ``Settings`` (environment ``SWITCHBOARD_PUSH_*``):
    where the services are (``apns_url`` None: Apple's host of the tenant's APNs
    environment), and the timeout of one request."""

    apns_url: str | None
    fcm_url: str
    timeout_seconds: float


def push_settings(rt: Runtime) -> PushSettings:
    s = rt.settings
    return PushSettings(
        apns_url=s.push_apns_url, fcm_url=s.push_fcm_url, timeout_seconds=s.push_timeout_seconds
    )


@dataclass(frozen=True)
class PushMessage:
    kind: str
    token: str
    bundle_id: str | None
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


class PushSender(Protocol):
    async def send(self, message: PushMessage) -> Delivery: ...


def _fit(build: Any, body: str) -> bytes:
    """``build(text)`` as JSON within ``MAX_PAYLOAD`` bytes (the text shortened)."""
    text = body
    while True:
        raw = json.dumps(build(text), separators=(",", ":"), ensure_ascii=False).encode()
        if len(raw) <= MAX_PAYLOAD or not text:
            return raw
        text = text[: max(0, len(text) - max(1, (len(raw) - MAX_PAYLOAD) // 2 + 8))]


# ---- fake and webhook ------------------------------------------------------------------


class FakePushSender:
    """Keeps what would have been sent (``sent``), sends nothing; answers a token of
    ``invalid_tokens`` as no longer valid, as APNs and FCM answer for an app that was
    removed from its device."""

    def __init__(self, invalid_tokens: Iterable[str] = ()) -> None:
        self.sent: list[PushMessage] = []
        self.invalid_tokens = set(invalid_tokens)

    async def send(self, message: PushMessage) -> Delivery:
        if message.token in self.invalid_tokens:
            return "invalid_token"
        self.sent.append(message)
        return "sent"


class WebhookPushSender:
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    async def send(self, message: PushMessage) -> Delivery:
        payload = {
            "kind": message.kind,
            "token": message.token,
            "bundle_id": message.bundle_id,
            "title": message.title,
            "body": message.body,
            "data": message.data,
        }
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, json=payload)
        if response.status_code == 410:
            return "invalid_token"
        if response.status_code >= 300:
            log.warning("push webhook refused a notification: %s", response.status_code)
            return "failed"
        return "sent"


# ---- Apple Push Notification service ----------------------------------------------------


class ApnsSender:
    """HTTP/2 with token-based authentication."""

    def __init__(
        self,
        *,
        team_id: str,
        key_id: str,
        private_key: str,
        base_url: str,
        timeout: float,
        transport: Any = None,
    ) -> None:
        self.team_id = team_id
        self.key_id = key_id
        self._key = private_key
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            http1=False, http2=True, timeout=timeout, transport=transport
        )
        self._token: tuple[str, float] | None = None

    def provider_token(self, *, renew: bool = False) -> str:
        now = time.time()
        if renew or self._token is None or now - self._token[1] > APNS_TOKEN_SECONDS:
            token = jwt.encode(
                {"iss": self.team_id, "iat": int(now)},
                self._key,
                algorithm="ES256",
                headers={"kid": self.key_id},
            )
            self._token = (token, now)
        return self._token[0]

    def payload(self, message: PushMessage) -> bytes:
        def build(text: str) -> dict[str, Any]:
            aps = {"alert": {"title": message.title, "body": text}, "sound": "default"}
            return {"aps": aps, **message.data}

        return _fit(build, message.body)

    async def send(self, message: PushMessage) -> Delivery:
        if not message.bundle_id:
            log.warning("APNs: no bundle id (apns-topic) for the token; not sent")
            return "failed"
        body = self.payload(message)
        for renew in (False, True):
            response = await self._client.post(
                f"{self.base_url}/3/device/{message.token}",
                content=body,
                headers={
                    "authorization": f"bearer {self.provider_token(renew=renew)}",
                    "apns-topic": message.bundle_id,
                    "apns-push-type": "alert",
                    "apns-priority": "10",
                    "content-type": "application/json",
                },
            )
            if response.status_code == 200:
                return "sent"
            reason = _reason(response)
            if response.status_code == 410 or reason in ("BadDeviceToken", "Unregistered"):
                return "invalid_token"
            if response.status_code == 403 and reason == "ExpiredProviderToken" and not renew:
                continue
            log.warning("APNs refused a notification: %s %s", response.status_code, reason)
            return "failed"
        return "failed"

    async def close(self) -> None:
        await self._client.aclose()


def _reason(response: httpx.Response) -> str:
    try:
        found = response.json()
    except ValueError:
        return ""
    return str(found.get("reason", "")) if isinstance(found, dict) else ""


# ---- Firebase Cloud Messaging HTTP v1 --------------------------------------------------


class _GoogleResponse(google_transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class _GoogleRequest(google_transport.Request):
    """google-auth's transport over httpx (token requests run in a worker thread)."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _GoogleResponse:
        with httpx.Client(timeout=timeout or self._timeout) as client:
            response = client.request(method, url, content=body, headers=dict(headers or {}))
        return _GoogleResponse(response)


class FcmSender:
    """The v1 API with a service account's OAuth2 access token (``google-auth``)."""

    def __init__(
        self,
        *,
        credentials_info: dict[str, Any],
        project_id: str | None,
        base_url: str,
        timeout: float,
        transport: Any = None,
    ) -> None:
        self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]  # google-auth is untyped here
            credentials_info, scopes=[FCM_SCOPE]
        )
        self.project_id = project_id or str(credentials_info.get("project_id") or "")
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._lock = asyncio.Lock()

    async def access_token(self, *, renew: bool = False) -> str:
        async with self._lock:
            if renew or not self._credentials.valid:
                request = _GoogleRequest(self._timeout)
                await asyncio.to_thread(self._credentials.refresh, request)
            return str(self._credentials.token)

    def payload(self, message: PushMessage) -> bytes:
        def build(text: str) -> dict[str, Any]:
            body: dict[str, Any] = {
                "token": message.token,
                "notification": {"title": message.title, "body": text},
                "data": dict(message.data),
            }
            if message.kind == "android_firebase":
                body["android"] = {"priority": "high"}
            else:
                body["apns"] = {"payload": {"aps": {"sound": "default"}}}
            return {"message": body}

        return _fit(build, message.body)

    async def send(self, message: PushMessage) -> Delivery:
        url = f"{self.base_url}/v1/projects/{self.project_id}/messages:send"
        body = self.payload(message)
        for renew in (False, True):
            token = await self.access_token(renew=renew)
            response = await self._client.post(
                url,
                content=body,
                headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            )
            if response.status_code == 200:
                return "sent"
            code = _fcm_error(response)
            if code == "UNREGISTERED" or (
                response.status_code == 404 and code in ("", "NOT_FOUND")
            ):
                return "invalid_token"
            if response.status_code == 401 and not renew:
                continue
            log.warning("FCM refused a notification: %s %s", response.status_code, code)
            return "failed"
        return "failed"

    async def close(self) -> None:
        await self._client.aclose()


def _fcm_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", "")) if isinstance(error, dict) else ""


# ---- choosing ------------------------------------------------------------------------


@dataclass
class _Native:
    fingerprint: tuple[Any, ...]
    apns: ApnsSender | None
    fcm: FcmSender | None


def _read(path: str) -> str:
    return Path(path).expanduser().read_text()


def _native(rt: Runtime, tenant: Tenant) -> _Native:
    """The tenant's APNs and FCM senders (made again when its settings change)."""
    cfg = push_settings(rt)
    keys = (
        "push_apns_team_id",
        "push_apns_key_id",
        "push_apns_key_file",
        "push_apns_environment",
        "push_fcm_credentials_file",
        "push_fcm_project_id",
    )
    fingerprint = (*(tenant.setting(k) for k in keys), cfg.apns_url, cfg.fcm_url)
    key = f"{PROVIDER_KEY}.native.{tenant.id}"
    found = rt.providers.get(key)
    if isinstance(found, _Native) and found.fingerprint == fingerprint:
        return found
    apns: ApnsSender | None = None
    team, key_id, key_file = (tenant.setting(k) for k in keys[:3])
    if team and key_id and key_file:
        environment = str(tenant.setting("push_apns_environment") or "production")
        try:
            apns = ApnsSender(
                team_id=str(team),
                key_id=str(key_id),
                private_key=_read(str(key_file)),
                base_url=cfg.apns_url or APNS_HOSTS.get(environment, APNS_HOSTS["production"]),
                timeout=cfg.timeout_seconds,
            )
        except OSError:
            log.exception("APNs key of tenant %s cannot be read", tenant.domain)
    fcm: FcmSender | None = None
    credentials = tenant.setting("push_fcm_credentials_file")
    if credentials:
        try:
            fcm = FcmSender(
                credentials_info=json.loads(_read(str(credentials))),
                project_id=tenant.setting("push_fcm_project_id"),
                base_url=cfg.fcm_url,
                timeout=cfg.timeout_seconds,
            )
        except (OSError, ValueError):
            log.exception("FCM credentials of tenant %s cannot be read", tenant.domain)
    made = _Native(fingerprint, apns, fcm)
    rt.providers[key] = made
    return made


def sender_for(rt: Runtime, tenant: Tenant | None, kind: str) -> PushSender | None:
    """The sender of a notification of ``kind`` for ``tenant`` (None: not configured)."""
    override = rt.providers.get(PROVIDER_KEY)
    if override is not None:
        chosen: PushSender = override
        return chosen
    provider = (tenant.setting("push_provider") if tenant else None) or rt.settings.push_provider
    if provider == "native" and tenant is not None:
        native = _native(rt, tenant)
        found = native.apns if kind == "ios_apns" else native.fcm
        if found is None:
            log.warning("push: tenant %s has no credentials for %s", tenant.domain, kind)
        return found
    url = chat_settings(rt).push_webhook_url
    if provider == "webhook" and url:
        return WebhookPushSender(url)
    key = f"{PROVIDER_KEY}.fake"
    fake = rt.providers.get(key)
    if not isinstance(fake, FakePushSender):
        if provider not in ("fake", "webhook", "native"):
            log.warning("unknown push_provider %r: using the fake", provider)
        fake = FakePushSender()
        rt.providers[key] = fake
    return fake


async def notify(
    rt: Runtime,
    subscription: ChatPushSubscription,
    *,
    title: str,
    body: str,
    data: dict[str, str],
) -> None:
    """Notify the device subscribed to the chat (called after the chat's commit)."""
    message = PushMessage(
        kind=subscription.kind,
        token=subscription.token,
        bundle_id=subscription.bundle_id,
        title=title,
        body=body,
        data=data,
    )
    try:
        async with rt.db.read() as s:
            tenant = await s.get(Tenant, subscription.tenant_id)
        sender = sender_for(rt, tenant, subscription.kind)
        if sender is None:
            return
        delivery = await sender.send(message)
    except Exception as e:
        log.warning("push notification failed for chat %s", subscription.chat_id, exc_info=True)
        metrics.carrier_error(f"push-{subscription.kind}", type(e).__name__)
        return
    if delivery == "failed":
        metrics.carrier_error(f"push-{subscription.kind}", "refused")
    if delivery == "invalid_token":
        await forget(rt, subscription)


async def forget(rt: Runtime, subscription: ChatPushSubscription) -> None:
    """Remove a token the push service no longer accepts (unless it changed meanwhile)."""
    async with rt.db.write() as s:
        await s.execute(
            delete(ChatPushSubscription).where(
                ChatPushSubscription.chat_id == subscription.chat_id,
                ChatPushSubscription.token == subscription.token,
            )
        )
    log.info(
        "push: removed an invalid %s token of chat %s", subscription.kind, subscription.chat_id
    )
