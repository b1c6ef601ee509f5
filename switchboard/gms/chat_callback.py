"""Calling a chat's customer back at the chat's ``phone_number``, through the carrier.

A customer who requests a chat may give a phone number (Request Chat's
``phone_number``). When the chat's scenario entry has ``autoCallback``, the number is
called as soon as an agent accepts the chat (once per chat); on any entry, the agent may
call it by hand (``POST /agentapi/v1/interactions/{id}/callback``).

Such a call is placed exactly as an accepted GMS callback is (``callbacks.py``): each is a
record of the tenant's system calling list ``chat-callback`` (``ID``
``<interaction id>:<n>``, ``Phone``, ``Interaction``, ``Chat``, ``Trigger``), with an
outbound attempt of the system campaign ``Chat callback``, moved to ``dialing`` for the
agent who asked, in one transaction with the agent's phone slot; after the commit the
configured carrier (``telephony_provider``: the simulator or Twilio) calls the customer
and connects the agent (Twilio: bridged to the agent's phone). From there on it is an
outbound attempt like any other: carrier events move it (``outbound_connected``,
``outbound_ended`` on the agent's channel), the agent hangs up and sets the disposition
through ``/agentapi/v1/outbound/{attemptId}``, the outcome and recording are kept, and
the campaign's statistics count it. A chat callback is dialed once: busy, no answer or a
machine end it (the agent may call again by hand); Do-Not-Call lists do not apply (the
customer asked for the call).

The campaign takes the tenant's GMS callback options for its caller id
(``gms_callback_caller_id``, else the first voice access number), its service
(``gms_callback_target``...) and answering-machine detection (``gms_callback_amd``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.actions import has_room, loads_of, lock_agent, reserve_in
from switchboard.campaigns.models import Campaign, campaign_lists
from switchboard.chats.models import ChatSession
from switchboard.core.errors import Conflict, DomainError, Invalid
from switchboard.core.runtime import Runtime
from switchboard.dialer import actions as dialer_actions
from switchboard.dialer import calls
from switchboard.dialer.attempts import SLOT, agent_in, attempt_event, changed, now
from switchboard.dnc import phones
from switchboard.gms import callbacks
from switchboard.interactions import service as interactions
from switchboard.interactions.models import OFFERED, Interaction
from switchboard.lists.models import CallAttempt, CallingList, CallingRecord, RecordResult
from switchboard.lists.records import entry
from switchboard.scenarios.models import ScenarioEntry
from switchboard.users.models import User

log = logging.getLogger(__name__)

LIST_NAME = "chat-callback"
CAMPAIGN_NAME = "Chat callback"
FIELDS = ["ID", "Phone", "Interaction", "Chat", "Trigger"]
Trigger = Literal["automatic", "manual"]


async def ensure_in(
    s: AsyncSession, tenant_id: str, at: datetime, region: str
) -> tuple[Campaign, CallingList]:
    """The tenant's chat-callback list (locked) and campaign, created or brought in line
    with the tenant's callback options."""
    opts = await callbacks.options_in(s, tenant_id)
    campaign, defn = await callbacks.system_campaign_in(
        s,
        tenant_id,
        at,
        list_name=LIST_NAME,
        campaign_name=CAMPAIGN_NAME,
        description="Chat customers called back (managed by Switchboard)",
        fields=FIELDS,
    )
    # dialed once, for the agent who asked: the dialer never picks these records itself
    campaign.mode = "progressive"
    campaign.max_attempts = 1
    campaign.retry_minutes = {}
    await callbacks.carrier_options_in(
        s, campaign, opts, service_hint=LIST_NAME, at=at, region=region
    )
    return campaign, defn


def _key_prefix(interaction_id: str) -> str:
    return f"{interaction_id}:"


async def place(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, trigger: Trigger
) -> str | None:
    """Call the customer of the agent's chat at its phone number and connect the agent,
    in one transaction (the carrier is asked after the commit). Returns the outbound
    attempt's id; None for an automatic callback when the chat was called back already.

    404: not an interaction of this agent (of this tenant); 409: the agent has not
    accepted it, the chat has no phone number, the agent is on another call or (a real
    carrier) has no phone to connect; 400: the number cannot be dialed."""
    at = now(rt)
    region = rt.settings.default_phone_region
    async with rt.db.write() as s:
        step, inter = await interactions.my_part(
            session=s, tenant_id=tenant_id, user_id=user_id, interaction_id=interaction_id
        )
        if step.phase == OFFERED:
            raise Conflict("Accept the chat first")
        chat = await s.get(ChatSession, inter.chat_id) if inter.chat_id else None
        raw = (chat.phone_number or "").strip() if chat is not None else ""
        if chat is None or not raw:
            raise Conflict("The chat has no phone number to call", code="no_phone_number")
        e164 = phones.normalize(raw, region)
        if e164 is None:
            raise Invalid(f"The chat's phone number cannot be dialed: {raw}")
        user = await s.get(User, user_id)
        if user is None:
            raise Conflict("Agent is not logged in")
        if calls.needs_agent_number(rt) and calls.agent_number(user, region) is None:
            raise Conflict("The carrier needs a phone number of yours to connect you")
        campaign, defn = await ensure_in(s, tenant_id, at, region)
        prefix = _key_prefix(interaction_id)
        earlier = (
            await s.execute(
                select(func.count())
                .select_from(CallingRecord)
                .where(
                    CallingRecord.list_id == defn.id,
                    CallingRecord.key.startswith(prefix, autoescape=True),
                )
            )
        ).scalar_one()
        if trigger == "automatic" and earlier:
            return None
        agent = await lock_agent(s, tenant_id, user_id)
        if agent is None:
            raise Conflict("Agent is not logged in")
        if not has_room((await loads_of(s, user_id)).get(SLOT)):
            raise Conflict("You are on another call")
        await reserve_in(s, agent, SLOT, now=at)
        key = f"{prefix}{earlier + 1}"
        record = CallingRecord(
            list_id=defn.id,
            idx=defn.next_index,
            key=key,
            data={
                "ID": key,
                "Phone": raw,
                "Interaction": interaction_id,
                "Chat": chat.id,
                "Trigger": trigger,
            },
            updated_at=at,
        )
        defn.next_index += 1
        defn.updated_at = at
        s.add(record)
        await s.flush()
        # the campaign's cursor passes the record: the dialer never takes it up itself
        await s.execute(
            update(campaign_lists)
            .where(campaign_lists.c.campaign_id == campaign.id, campaign_lists.c.list_id == defn.id)
            .values(next_idx=defn.next_index)
        )
        result = RecordResult(
            tenant_id=tenant_id,
            campaign_id=campaign.id,
            list_id=defn.id,
            record_id=record.id,
            state="busy",
            completed=False,
            total_attempts=1,
            dial_attempts=1,
            phone_index=0,
            next_attempt_at=at,
            last_phone=raw,
            last_agent=user.login_id,
            last_date=at,
            updated_at=at,
        )
        s.add(result)
        await s.flush()
        attempt = CallAttempt(
            tenant_id=tenant_id,
            campaign_id=campaign.id,
            list_id=defn.id,
            record_id=record.id,
            result_id=result.id,
            mode=campaign.mode,
            state="dialing",
            phone=raw,
            phone_e164=e164,
            caller_id=campaign.caller_id,
            agent_user_id=user_id,
            agent_login=user.login_id,
            call_attempted=True,
            created_at=at,
            dial_started_at=at,
            lease_until=at + timedelta(seconds=rt.settings.dialer_lease_seconds),
        )
        s.add(attempt)
        await s.flush()
        result.giid = attempt.giid
        result.last_attempt_id = attempt.id
        extra: dict[str, Any] = {
            "list": defn.name,
            "entry": entry(defn, record.data),
            "attemptNumber": 1,
            "interactionId": interaction_id,
            "chatId": chat.id,
        }
        await agent_in(
            s,
            tenant_id,
            user_id,
            event=attempt_event("outbound_dialing", attempt, campaign.name, extra),
        )
        await calls.dial_in(rt, s, attempt, attempt_number=1, agent=user, at=at)
        changed(s, tenant_id, attempt.id)
        attempt_id = attempt.id
    return attempt_id


async def after_accept(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> None:
    """After an agent accepted a chat: the automatic callback, when the chat's entry asks
    for one, the chat gave a phone number and this is the chat's first agent (a transfer
    or a conference calls nobody). What stops it (the agent on another call...) is
    logged: the agent may still call by hand."""
    async with rt.db.read() as s:
        found = (
            await s.execute(
                select(ScenarioEntry.auto_callback, ChatSession.phone_number)
                .join(ChatSession, ChatSession.entry_id == ScenarioEntry.id)
                .join(Interaction, Interaction.chat_id == ChatSession.id)
                .where(Interaction.id == interaction_id, ChatSession.tenant_id == tenant_id)
            )
        ).first()
        if found is None or not found[0] or not (found[1] or "").strip():
            return
        step, inter = await interactions.my_part(
            session=s, tenant_id=tenant_id, user_id=user_id, interaction_id=interaction_id
        )
        if inter.answered_at is not None and (step.answered_at or inter.answered_at) > (
            inter.answered_at
        ):
            return  # not the agent the chat was first delivered to
    try:
        await place(
            rt,
            tenant_id=tenant_id,
            user_id=user_id,
            interaction_id=interaction_id,
            trigger="automatic",
        )
    except DomainError as e:
        log.warning("chat callback of interaction %s not placed: %s", interaction_id, e.message)


async def list_for(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str
) -> list[dict[str, Any]]:
    """The callbacks of one of the agent's chats, oldest first, each as its outbound
    attempt (state, outcome, disposition...) with ``trigger``."""
    async with rt.db.read() as s:
        await interactions.my_part(
            session=s, tenant_id=tenant_id, user_id=user_id, interaction_id=interaction_id
        )
        rows = (
            await s.execute(
                select(CallAttempt, Campaign.name, CallingRecord, CallingList)
                .join(Campaign, Campaign.id == CallAttempt.campaign_id)
                .join(CallingRecord, CallingRecord.id == CallAttempt.record_id)
                .join(CallingList, CallingList.id == CallAttempt.list_id)
                .where(
                    CallingList.tenant_id == tenant_id,
                    CallingList.name == LIST_NAME,
                    CallingRecord.key.startswith(_key_prefix(interaction_id), autoescape=True),
                )
                .order_by(CallAttempt.created_at, CallingRecord.idx)
            )
        ).all()
    out = []
    for attempt, campaign, record, defn in rows:
        view = dialer_actions.view(attempt, campaign, defn, record)
        view["trigger"] = (record.data or {}).get("Trigger")
        out.append(view)
    return out
