"""The SMS worker, one task per server process (processes coordinate through row
locks): relay agents' chat messages to SMS customers, send queued messages, fail
messages whose sender died mid-send, and ask the carrier about delivery. It runs when
woken (a message was queued, an SMS chat got an event) and at least every ``sms_worker_poll_seconds``."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from switchboard.chats.log import chat_topic
from switchboard.core.runtime import Runtime
from switchboard.sms import actions
from switchboard.sms.carriers import get_carrier
from switchboard.sms.models import SmsConversation

log = logging.getLogger(__name__)


async def _topics(rt: Runtime) -> list[str]:
    """The outbox, and the chats of active SMS conversations (an agent's message)."""
    async with rt.db.read() as s:
        rows = await s.execute(
            select(SmsConversation.chat_id).where(SmsConversation.active.is_(True)).limit(1000)
        )
        return [actions.OUTBOX_TOPIC, *(chat_topic(c) for (c,) in rows.all())]


async def tick(rt: Runtime) -> None:
    await actions.relay_chats(rt)
    while await actions.send_due(rt) >= actions.BATCH:
        await asyncio.sleep(0)  # a backlog: keep going
    await actions.recover(rt)
    await actions.check_sent(rt)


async def run(rt: Runtime) -> None:
    try:
        while True:
            try:
                async with rt.bus.listen(await _topics(rt)) as waiter:
                    await tick(rt)
                    await waiter.wait(rt.settings.sms_worker_poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sms worker tick failed")
                await asyncio.sleep(min(5.0, rt.settings.sms_worker_poll_seconds))
    finally:
        carrier = rt.providers.get("sms")
        if carrier is not None:
            await get_carrier(rt).close()
