"""Push notifications to mobile clients subscribed through v2 ``chats/{id}/notifications``.

Behind the ``PushSender`` protocol, chosen by the setting ``push_provider``:

* ``fake`` (default): records every notification in memory (tests, development);
* ``webhook``: POSTs each notification as JSON to ``SWITCHBOARD_CHAT_PUSH_WEBHOOK_URL``
  (a push gateway of the operator that holds the APNs/FCM credentials).

A failed push is logged and dropped: the chat's log stays the truth and the client
reads it when it polls again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from switchboard.chats.config import chat_settings
from switchboard.chats.models import ChatPushSubscription
from switchboard.core.runtime import Runtime

log = logging.getLogger(__name__)

PROVIDER_KEY = "push"
KINDS = ("ios_apns", "ios_firebase", "android_firebase")


@dataclass(frozen=True)
class PushMessage:
    kind: str
    token: str
    bundle_id: str | None
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


class PushSender(Protocol):
    async def send(self, message: PushMessage) -> None: ...


class FakePushSender:
    """Keeps what would have been sent (``sent``), sends nothing."""

    def __init__(self) -> None:
        self.sent: list[PushMessage] = []

    async def send(self, message: PushMessage) -> None:
        self.sent.append(message)


class WebhookPushSender:
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    async def send(self, message: PushMessage) -> None:
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
            response.raise_for_status()


def sender(rt: Runtime) -> PushSender:
    found = rt.providers.get(PROVIDER_KEY)
    if found is not None:
        return found  # type: ignore[no-any-return]  # any object with send()
    created: PushSender
    url = chat_settings(rt).push_webhook_url
    if rt.settings.push_provider == "webhook" and url:
        created = WebhookPushSender(url)
    else:
        if rt.settings.push_provider not in ("fake", "webhook"):
            log.warning("unknown push_provider %r: using the fake", rt.settings.push_provider)
        created = FakePushSender()
    rt.providers[PROVIDER_KEY] = created
    return created


async def notify(
    rt: Runtime, sub: ChatPushSubscription, *, title: str, body: str, data: dict[str, str]
) -> None:
    message = PushMessage(
        kind=sub.kind,
        token=sub.token,
        bundle_id=sub.bundle_id,
        title=title,
        body=body[:200],
        data=data,
    )
    try:
        await sender(rt).send(message)
    except Exception:
        log.warning("push notification failed for chat %s", sub.chat_id, exc_info=True)
