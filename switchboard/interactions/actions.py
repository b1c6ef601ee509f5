"""Offers, answers, transfers, conferences, the end of chats and after-call work.

Lock order everywhere: agent rows (by user id) -> the chat row -> step rows. Routing
claims take the chat and the agent with ``SKIP LOCKED`` so they never wait on each
other. Each action commits its own transaction, then calls the chat engine (which
commits and publishes on its own), then publishes ``agent:<user>`` and, when a slot was
freed or a chat re-queued, ``routing:<tenant>``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.actions import (
    agent_topic,
    has_room,
    is_routable,
    loads_of,
    lock_agent,
    queue_event,
    release_in,
    reserve_in,
    routing_topic,
    set_presence_in,
)
from switchboard.agents.models import NOT_READY, AgentSession
from switchboard.chats.models import ChatSession
from switchboard.core.db import new_id, utcnow
from switchboard.core.errors import Conflict, DomainError, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.interactions import chatops
from switchboard.interactions.models import (
    ABANDONED,
    COMPLETED,
    CONFERENCE,
    CONNECTED,
    DONE,
    OFFERED,
    OPEN_PHASES,
    QUEUED,
    ROUTE,
    TRANSFER,
    WRAP_UP,
    Interaction,
    InteractionStep,
)
from switchboard.services.models import Disposition, Service
from switchboard.tenants.models import Tenant
from switchboard.users.models import Privilege, User

log = logging.getLogger(__name__)

SLOT = "chat"
DEFAULT_ACW_SECONDS = 60


@dataclass(frozen=True)
class Offer:
    step_id: str
    interaction_id: str
    chat_id: str
    user_id: str
    kind: str


# ---- helpers -------------------------------------------------------------------------


async def tenant_setting(rt: Runtime, s: AsyncSession, tenant_id: str, name: str) -> float:
    """A routing setting: the tenant's own value (``Tenant.settings[name]``) or the
    server's."""
    default = float(getattr(rt.settings, name))
    tenant = await s.get(Tenant, tenant_id)
    if tenant is None:
        return default
    try:
        return float(tenant.setting(name, default))
    except (TypeError, ValueError):
        return default


async def _acw_seconds(s: AsyncSession, inter: Interaction) -> int:
    if inter.service_id:
        svc = await s.get(Service, inter.service_id)
        if svc is not None:
            return max(0, int(svc.acw_timeout_seconds))
    return DEFAULT_ACW_SECONDS


async def ensure_interaction_in(s: AsyncSession, chat: ChatSession) -> Interaction:
    inter = (
        await s.execute(select(Interaction).where(Interaction.chat_id == chat.id))
    ).scalar_one_or_none()
    if inter is None:
        inter = Interaction(
            tenant_id=chat.tenant_id,
            media="chat",
            direction="inbound",
            chat_id=chat.id,
            service_id=chat.service_id,
            client_key=chat.client_key,
            state=QUEUED,
            priority=chat.priority,
            case_id=chat.case_id,
            offers=0,
            created_at=chat.created_at,
            queued_at=chat.queued_at,
        )
        s.add(inter)
        await s.flush()
    else:
        inter.service_id = chat.service_id
        inter.priority = chat.priority
    return inter


async def register_queued(rt: Runtime, *, tenant_id: str, chats: Sequence[Any]) -> None:
    """Create the interaction records of queued chats that have none yet (idempotent,
    safe when several processes do it at once). ``chats`` are rows with ``id``,
    ``service_id``, ``client_key``, ``priority``, ``created_at`` and ``queued_at``."""
    if not chats:
        return
    async with rt.db.read() as s:
        known = set(
            (
                await s.execute(
                    select(Interaction.chat_id).where(
                        Interaction.chat_id.in_([c.id for c in chats])
                    )
                )
            ).scalars()
        )
    rows = [
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "media": "chat",
            "direction": "inbound",
            "chat_id": c.id,
            "service_id": c.service_id,
            "client_key": c.client_key,
            "state": QUEUED,
            "priority": c.priority,
            "offers": 0,
            "created_at": c.created_at,
            "queued_at": c.queued_at,
        }
        for c in chats
        if c.id not in known
    ]
    if not rows:
        return
    insert = sqlite_insert if rt.db.is_sqlite else pg_insert
    async with rt.db.write() as s:
        await s.execute(
            insert(Interaction).values(rows).on_conflict_do_nothing(index_elements=["chat_id"])
        )


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


async def _offer_payload(
    s: AsyncSession, chat: ChatSession, inter: Interaction, step: InteractionStep, timeout: float
) -> dict[str, Any]:
    svc = await s.get(Service, chat.service_id) if chat.service_id else None
    from_name = None
    if step.from_user_id:
        u = await s.get(User, step.from_user_id)
        from_name = u.display_name if u else None
    now = utcnow()
    waited = (now - chat.queued_at).total_seconds() if chat.queued_at else 0.0
    return {
        "interaction_id": inter.id,
        "chat_id": chat.id,
        "media": "chat",
        "kind": step.kind,
        "service_id": chat.service_id,
        "service": svc.name if svc else None,
        "priority": chat.priority,
        "requested_skills": dict(chat.requested_skills or {}),
        "queued_at": _iso(chat.queued_at),
        "waited_seconds": round(max(0.0, waited), 3),
        "timeout_seconds": timeout,
        "expires_at": _iso(step.deadline),
        "from_user_id": step.from_user_id,
        "from_name": from_name,
        "customer": {
            "parameters": dict(chat.parameters or {}),
            "from": chat.from_address,
            "phone_number": chat.phone_number,
            "case_id": chat.case_id,
        },
    }


async def _offer_in(
    rt: Runtime,
    s: AsyncSession,
    *,
    chat: ChatSession,
    inter: Interaction,
    agent: AgentSession,
    kind: str,
    from_user_id: str | None = None,
    now: datetime,
) -> InteractionStep:
    timeout = await tenant_setting(rt, s, chat.tenant_id, "offer_timeout_seconds")
    step = InteractionStep(
        interaction_id=inter.id,
        tenant_id=chat.tenant_id,
        user_id=agent.user_id,
        media="chat",
        kind=kind,
        phase=OFFERED,
        deadline=now + timedelta(seconds=timeout),
        start_seq=chat.last_seq,
        from_user_id=from_user_id,
        offered_at=now,
    )
    s.add(step)
    if kind != CONFERENCE:
        inter.state = OFFERED
        inter.offers += 1
        inter.first_offered_at = inter.first_offered_at or now
    await s.flush()
    await reserve_in(s, agent, SLOT, now=now)
    queue_event(s, agent, "offer", await _offer_payload(s, chat, inter, step, timeout))
    return step


async def _has_open_route_step(s: AsyncSession, inter: Interaction) -> bool:
    row = (
        await s.execute(
            select(InteractionStep.id)
            .where(
                InteractionStep.interaction_id == inter.id,
                InteractionStep.phase.in_(OPEN_PHASES),
                InteractionStep.kind != CONFERENCE,
            )
            .limit(1)
        )
    ).first()
    return row is not None


async def _lock_chat(
    s: AsyncSession, tenant_id: str, chat_id: str, *, skip_locked: bool
) -> ChatSession | None:
    stmt = (
        select(ChatSession)
        .where(ChatSession.id == chat_id, ChatSession.tenant_id == tenant_id)
        .with_for_update(skip_locked=skip_locked)
    )
    return (await s.execute(stmt)).scalar_one_or_none()


async def _publish(rt: Runtime, tenant_id: str, *user_ids: str, routing: bool = False) -> None:
    for uid in dict.fromkeys(user_ids):
        await rt.bus.publish(agent_topic(uid), "")
    if routing:
        await rt.bus.publish(routing_topic(tenant_id), "agent")


async def _safe(what: str, coro: Any) -> bool:
    """Call the chat engine; a chat that ended meanwhile is not an error here."""
    try:
        await coro
        return True
    except DomainError as e:
        log.info("%s: %s", what, e.message)
        return False


# ---- routing claims ------------------------------------------------------------------


async def claim_chat(rt: Runtime, *, tenant_id: str, chat_id: str, user_id: str) -> Offer | None:
    """Offer a queued chat to an agent, atomically: the chat must still be queued with no
    open offer, the agent routable with a free chat slot. None when anything changed."""
    async with rt.db.write() as s:
        chat = await _lock_chat(s, tenant_id, chat_id, skip_locked=True)
        if chat is None or chat.state != "queued":
            return None
        agent = await lock_agent(s, tenant_id, user_id, skip_locked=True)
        if agent is None or not is_routable(agent):
            return None
        # taken under the locks: after any release this claim saw
        now = utcnow()
        if not has_room((await loads_of(s, user_id)).get(SLOT)):
            return None
        inter = await ensure_interaction_in(s, chat)
        if await _has_open_route_step(s, inter):
            return None
        step = await _offer_in(rt, s, chat=chat, inter=inter, agent=agent, kind=ROUTE, now=now)
        offer = Offer(step.id, inter.id, chat.id, user_id, ROUTE)
    await _safe(
        "mark_connecting", chatops.mark_connecting(rt, tenant_id=tenant_id, chat_id=chat_id)
    )
    await _publish(rt, tenant_id, user_id)
    return offer


# ---- agent's own steps ---------------------------------------------------------------


async def _my_step(
    s: AsyncSession,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    phases: tuple[str, ...],
    *,
    lock: bool = True,
) -> tuple[InteractionStep, Interaction]:
    inter = await s.get(Interaction, interaction_id)
    if inter is None or inter.tenant_id != tenant_id:
        raise NotFound("Interaction not found")
    stmt = (
        select(InteractionStep)
        .where(
            InteractionStep.interaction_id == interaction_id,
            InteractionStep.user_id == user_id,
            InteractionStep.phase.in_(phases),
        )
        .order_by(InteractionStep.offered_at.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    step = (await s.execute(stmt)).scalar_one_or_none()
    if step is None:
        any_step = (
            await s.execute(
                select(InteractionStep.phase).where(
                    InteractionStep.interaction_id == interaction_id,
                    InteractionStep.user_id == user_id,
                )
            )
        ).first()
        if any_step is None:
            raise NotFound("Interaction not found")
        wanted = " or ".join(phases)
        raise Conflict(f"Your part in this interaction is not {wanted}")
    return step, inter


async def _locked_agent(s: AsyncSession, tenant_id: str, user_id: str) -> AgentSession:
    agent = await lock_agent(s, tenant_id, user_id)
    if agent is None:
        raise Conflict("Agent is not logged in")
    return agent


async def accept(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> str:
    """Accept an offer: the agent joins the chat; returns the agent's party id."""
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (OFFERED,))
        if step.deadline is not None and step.deadline <= now:
            raise Conflict("The offer has expired")
        step.phase = CONNECTED
        step.outcome = "accepted"
        step.answered_at = now
        step.deadline = None
        if step.kind != CONFERENCE:
            inter.state = CONNECTED
            inter.agent_user_id = user_id
            inter.answered_at = inter.answered_at or now
        chat_id = inter.chat_id or ""
        step_id = step.id
        queue_event(s, agent, "offer_accepted", {"interaction_id": inter.id, "chat_id": chat_id})
    try:
        party_id = await chatops.agent_joined(
            rt, tenant_id=tenant_id, chat_id=chat_id, user_id=user_id, party_type="internal"
        )
    except DomainError as e:
        await chat_finished(rt, tenant_id=tenant_id, chat_id=chat_id, reason="customer_left")
        raise Conflict("The chat has ended") from e
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step_row = await s.get(InteractionStep, step_id, with_for_update=True)
        if step_row is not None:
            step_row.party_id = party_id
        queue_event(
            s,
            agent,
            "interaction_connected",
            {"interaction_id": interaction_id, "chat_id": chat_id, "party_id": party_id},
        )
    await _publish(rt, tenant_id, user_id)
    return party_id


async def _revoke_in(
    rt: Runtime,
    s: AsyncSession,
    agent: AgentSession,
    step: InteractionStep,
    inter: Interaction,
    *,
    outcome: str,
    reason: str,
    now: datetime,
) -> None:
    step.phase = DONE
    step.outcome = outcome
    step.ended_at = now
    step.deadline = None
    await s.flush()
    await release_in(s, agent, SLOT, now=now)
    if step.kind != CONFERENCE and not await _has_open_route_step(s, inter):
        inter.state = QUEUED
    queue_event(
        s,
        agent,
        "offer_revoked",
        {"interaction_id": inter.id, "chat_id": inter.chat_id, "reason": reason},
    )


async def reject(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> None:
    """Decline an offer: the chat goes back to the queue (not to this agent for a while)."""
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (OFFERED,))
        await _revoke_in(rt, s, agent, step, inter, outcome="rejected", reason="rejected", now=now)
        kind, chat_id = step.kind, inter.chat_id or ""
    if kind != CONFERENCE:
        await _safe("requeue", chatops.requeue(rt, tenant_id=tenant_id, chat_id=chat_id))
    await _publish(rt, tenant_id, user_id, routing=True)


async def expire_offers(rt: Runtime, *, limit: int = 200) -> int:
    """Offers past their deadline become ``missed``: the agent goes not-ready (setting
    ``missed_offer_reason``) and the chat is re-queued for another agent."""
    now = utcnow()
    async with rt.db.read() as s:
        due = (
            await s.execute(
                select(InteractionStep.id, InteractionStep.tenant_id, InteractionStep.user_id)
                .where(InteractionStep.phase == OFFERED, InteractionStep.deadline <= now)
                .limit(limit)
            )
        ).all()
    done = 0
    for step_id, tenant_id, user_id in due:
        requeue_chat = None
        async with rt.db.write() as s:
            agent = await lock_agent(s, tenant_id, user_id)
            step = (
                await s.execute(
                    select(InteractionStep)
                    .where(
                        InteractionStep.id == step_id,
                        InteractionStep.phase == OFFERED,
                        InteractionStep.deadline <= now,
                    )
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if step is None or agent is None:
                continue
            inter = await s.get(Interaction, step.interaction_id)
            if inter is None:
                continue
            await _revoke_in(rt, s, agent, step, inter, outcome="missed", reason="timeout", now=now)
            reason = rt.settings.missed_offer_reason
            if reason and step.kind != CONFERENCE and agent.login_at is not None:
                await set_presence_in(s, agent, NOT_READY, reason, now=now)
            if step.kind != CONFERENCE:
                requeue_chat = inter.chat_id
        done += 1
        if requeue_chat:
            await _safe("requeue", chatops.requeue(rt, tenant_id=tenant_id, chat_id=requeue_chat))
        await _publish(rt, tenant_id, user_id, routing=True)
    return done


async def withdraw_offers(rt: Runtime, *, tenant_id: str, user_id: str, reason: str) -> None:
    """Withdraw the agent's pending offers (logout) and re-queue their chats."""
    now = utcnow()
    chats: list[str] = []
    async with rt.db.write() as s:
        agent = await lock_agent(s, tenant_id, user_id)
        if agent is None:
            return
        steps = (
            (
                await s.execute(
                    select(InteractionStep)
                    .where(InteractionStep.user_id == user_id, InteractionStep.phase == OFFERED)
                    .with_for_update()
                )
            )
            .scalars()
            .all()
        )
        for step in steps:
            inter = await s.get(Interaction, step.interaction_id)
            if inter is None:
                continue
            await _revoke_in(rt, s, agent, step, inter, outcome="revoked", reason=reason, now=now)
            if step.kind != CONFERENCE and inter.chat_id:
                chats.append(inter.chat_id)
    for chat_id in chats:
        await _safe("requeue", chatops.requeue(rt, tenant_id=tenant_id, chat_id=chat_id))
    if chats:
        await _publish(rt, tenant_id, user_id, routing=True)


# ---- the end of a chat and after-call work ---------------------------------------------


async def chat_finished(rt: Runtime, *, tenant_id: str, chat_id: str, reason: str) -> None:
    """The chat ended (by anyone): open offers are revoked, connected agents go to
    after-call work (the service's ``acw_timeout_seconds``), the interaction ends.
    Idempotent."""
    now = utcnow()
    async with rt.db.read() as s:
        inter = (
            await s.execute(
                select(Interaction).where(
                    Interaction.chat_id == chat_id, Interaction.tenant_id == tenant_id
                )
            )
        ).scalar_one_or_none()
        if inter is None:
            return
        users = sorted(
            set(
                (
                    await s.execute(
                        select(InteractionStep.user_id).where(
                            InteractionStep.interaction_id == inter.id,
                            InteractionStep.phase.in_(OPEN_PHASES),
                        )
                    )
                ).scalars()
            )
        )
        if not users and inter.state not in (QUEUED, OFFERED, CONNECTED):
            return
    notified: list[str] = []
    async with rt.db.write() as s:
        agents = {}
        for uid in users:
            agent = await lock_agent(s, tenant_id, uid)
            if agent is not None:
                agents[uid] = agent
        inter_row = await s.get(Interaction, inter.id, with_for_update=True)
        if inter_row is None:
            return
        steps = (
            (
                await s.execute(
                    select(InteractionStep)
                    .where(
                        InteractionStep.interaction_id == inter_row.id,
                        InteractionStep.phase.in_(OPEN_PHASES),
                        InteractionStep.user_id.in_(list(agents)),
                    )
                    .with_for_update()
                )
            ).scalars()
        ).all()
        acw = await _acw_seconds(s, inter_row)
        wrapping = False
        for step in steps:
            agent = agents[step.user_id]
            if step.phase == OFFERED:
                await _revoke_in(
                    rt, s, agent, step, inter_row, outcome="revoked", reason=reason, now=now
                )
            else:
                step.ended_at = now
                step.outcome = step.outcome if step.outcome != "accepted" else "completed"
                if acw > 0:
                    step.phase = WRAP_UP
                    step.deadline = now + timedelta(seconds=acw)
                    wrapping = True
                else:
                    step.phase = DONE
                    step.completed_at = now
                await s.flush()
                await release_in(s, agent, SLOT, wrap_up=acw > 0, now=now)
                queue_event(
                    s,
                    agent,
                    "interaction_ended",
                    {
                        "interaction_id": inter_row.id,
                        "chat_id": chat_id,
                        "reason": reason,
                        "wrap_up_until": _iso(step.deadline) if acw > 0 else None,
                    },
                )
            notified.append(step.user_id)
        if inter_row.state in (QUEUED, OFFERED, CONNECTED):
            inter_row.ended_at = inter_row.ended_at or now
            inter_row.end_reason = inter_row.end_reason or reason
            if inter_row.answered_at is None:
                inter_row.state = ABANDONED
                inter_row.completed_at = now
            elif wrapping:
                inter_row.state = WRAP_UP
            else:
                inter_row.state = COMPLETED
                inter_row.completed_at = now
    await _publish(rt, tenant_id, *notified, routing=bool(notified))


async def _finish_interaction_in(s: AsyncSession, inter: Interaction, now: datetime) -> None:
    """The interaction is complete once no agent still holds a part in it."""
    if inter.state != WRAP_UP:
        return
    left = (
        await s.execute(
            select(InteractionStep.id)
            .where(
                InteractionStep.interaction_id == inter.id,
                InteractionStep.phase.in_((OFFERED, CONNECTED, WRAP_UP)),
            )
            .limit(1)
        )
    ).first()
    if left is None:
        inter.state = COMPLETED
        inter.completed_at = now


async def _check_disposition(s: AsyncSession, inter: Interaction, name: str) -> None:
    rows = (
        (
            await s.execute(
                select(Disposition).where(
                    Disposition.tenant_id == inter.tenant_id, Disposition.name == name
                )
            )
        )
        .scalars()
        .all()
    )
    ok = [
        d
        for d in rows
        if d.agent_can_select and (d.service_id is None or d.service_id == inter.service_id)
    ]
    if not ok:
        raise Invalid(f"Unknown disposition: {name}")


async def set_disposition(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    disposition: str | None = None,
    notes: str | None = None,
) -> None:
    """Set the disposition (a name from the tenant's list) and notes of the agent's part;
    the interaction keeps the latest of each."""
    async with rt.db.write() as s:
        step, inter = await _my_step(
            s, tenant_id, user_id, interaction_id, (CONNECTED, WRAP_UP, DONE)
        )
        if step.phase == DONE and step.outcome not in ("completed", "transferred", "left"):
            raise Conflict("This offer was never answered")
        if disposition is not None:
            await _check_disposition(s, inter, disposition)
            step.disposition = disposition
            inter.disposition = disposition
        if notes is not None:
            step.notes = notes
            inter.notes = notes


async def complete_wrap_up(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    disposition: str | None = None,
    notes: str | None = None,
) -> None:
    """End the agent's after-call work on this interaction (frees the slot)."""
    if disposition is not None or notes is not None:
        await set_disposition(
            rt,
            tenant_id=tenant_id,
            user_id=user_id,
            interaction_id=interaction_id,
            disposition=disposition,
            notes=notes,
        )
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (WRAP_UP,))
        await _complete_in(s, agent, step, inter, now=now)
    await _publish(rt, tenant_id, user_id, routing=True)


async def _complete_in(
    s: AsyncSession,
    agent: AgentSession,
    step: InteractionStep,
    inter: Interaction,
    *,
    now: datetime,
    timed_out: bool = False,
) -> None:
    step.phase = DONE
    step.completed_at = now
    step.deadline = None
    await s.flush()
    await release_in(s, agent, SLOT, from_wrapup=True, now=now)
    await _finish_interaction_in(s, inter, now)
    queue_event(
        s,
        agent,
        "wrap_up_completed",
        {
            "interaction_id": inter.id,
            "chat_id": inter.chat_id,
            "disposition": step.disposition,
            "timed_out": timed_out,
        },
    )


async def expire_wrap_ups(rt: Runtime, *, limit: int = 200) -> int:
    now = utcnow()
    async with rt.db.read() as s:
        due = (
            await s.execute(
                select(InteractionStep.id, InteractionStep.tenant_id, InteractionStep.user_id)
                .where(InteractionStep.phase == WRAP_UP, InteractionStep.deadline <= now)
                .limit(limit)
            )
        ).all()
    for step_id, tenant_id, user_id in due:
        async with rt.db.write() as s:
            agent = await lock_agent(s, tenant_id, user_id)
            step = (
                await s.execute(
                    select(InteractionStep)
                    .where(InteractionStep.id == step_id, InteractionStep.phase == WRAP_UP)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if agent is None or step is None:
                continue
            inter = await s.get(Interaction, step.interaction_id)
            if inter is None:
                continue
            await _complete_in(s, agent, step, inter, now=now, timed_out=True)
        await _publish(rt, tenant_id, user_id, routing=True)
    return len(due)


async def end(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    disposition: str | None = None,
    notes: str | None = None,
    complete: bool = False,
) -> None:
    """The agent ends the chat for everyone; then after-call work (or, with
    ``complete``, straight back to work with the given disposition and notes)."""
    async with rt.db.read() as s:
        step, inter = await _my_step(
            s, tenant_id, user_id, interaction_id, (CONNECTED,), lock=False
        )
        party_id, chat_id = step.party_id, inter.chat_id or ""
        if disposition is not None:
            await _check_disposition(s, inter, disposition)
    await _safe(
        "end_chat",
        chatops.end_chat(
            rt, tenant_id=tenant_id, chat_id=chat_id, by_party_id=party_id, reason="agent"
        ),
    )
    await chat_finished(rt, tenant_id=tenant_id, chat_id=chat_id, reason="agent")
    if disposition is not None or notes is not None:
        await set_disposition(
            rt,
            tenant_id=tenant_id,
            user_id=user_id,
            interaction_id=interaction_id,
            disposition=disposition,
            notes=notes,
        )
    if complete:
        with contextlib.suppress(Conflict):  # no after-call work configured
            await complete_wrap_up(
                rt, tenant_id=tenant_id, user_id=user_id, interaction_id=interaction_id
            )


async def leave(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> None:
    """A conferenced party leaves the chat (the chat goes on with the others)."""
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (CONNECTED,))
        if step.kind != CONFERENCE:
            raise Conflict("Only a conferenced party can leave; end or transfer instead")
        step.phase = DONE
        step.outcome = "left"
        step.ended_at = now
        step.completed_at = now
        await s.flush()
        await release_in(s, agent, SLOT, now=now)
        party_id, chat_id = step.party_id, inter.chat_id or ""
        queue_event(
            s,
            agent,
            "interaction_ended",
            {"interaction_id": inter.id, "chat_id": chat_id, "reason": "left"},
        )
    if party_id:
        await _safe(
            "party_left",
            chatops.party_left(rt, tenant_id=tenant_id, chat_id=chat_id, party_id=party_id),
        )
    await _publish(rt, tenant_id, user_id, routing=True)


# ---- transfers and conferences ---------------------------------------------------------


async def _user_by_login(s: AsyncSession, tenant_id: str, login_id: str) -> User:
    user = (
        await s.execute(select(User).where(User.tenant_id == tenant_id, User.login_id == login_id))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"User not found: {login_id}")
    return user


async def _service(s: AsyncSession, tenant_id: str, name_or_id: str) -> Service:
    svc = (
        await s.execute(
            select(Service).where(
                Service.tenant_id == tenant_id,
                (Service.id == name_or_id) | (Service.name == name_or_id),
            )
        )
    ).scalar_one_or_none()
    if svc is None:
        raise NotFound(f"Service not found: {name_or_id}")
    if svc.media != "chat" or not svc.enabled:
        raise Invalid(f"Service {svc.name} does not take chats")
    return svc


async def _hand_over_in(
    s: AsyncSession,
    agent: AgentSession,
    step: InteractionStep,
    inter: Interaction,
    *,
    now: datetime,
) -> None:
    """The transferring agent's part ends; after-call work as configured."""
    acw = await _acw_seconds(s, inter)
    step.outcome = "transferred"
    step.ended_at = now
    if acw > 0:
        step.phase = WRAP_UP
        step.deadline = now + timedelta(seconds=acw)
    else:
        step.phase = DONE
        step.completed_at = now
    await s.flush()
    await release_in(s, agent, SLOT, wrap_up=acw > 0, now=now)
    queue_event(
        s,
        agent,
        "interaction_ended",
        {
            "interaction_id": inter.id,
            "chat_id": inter.chat_id,
            "reason": "transferred",
            "wrap_up_until": _iso(step.deadline) if acw > 0 else None,
        },
    )


async def transfer_to_service(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    service: str,
    requested_skills: dict[str, int] | None = None,
    priority: int | None = None,
) -> None:
    """Blind transfer to a service queue: the agent leaves, the chat is routed again."""
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (CONNECTED,))
        if step.kind == CONFERENCE:
            raise Conflict("A conferenced party cannot transfer; leave instead")
        svc = await _service(s, tenant_id, service)
        await _hand_over_in(s, agent, step, inter, now=now)
        inter.state = QUEUED
        inter.service_id = svc.id
        party_id, chat_id, svc_id = step.party_id, inter.chat_id or "", svc.id
    if party_id:
        await _safe(
            "party_left",
            chatops.party_left(rt, tenant_id=tenant_id, chat_id=chat_id, party_id=party_id),
        )
    await _safe(
        "requeue",
        chatops.requeue(
            rt,
            tenant_id=tenant_id,
            chat_id=chat_id,
            service_id=svc_id,
            requested_skills=requested_skills,
            priority=priority,
        ),
    )
    await _publish(rt, tenant_id, user_id, routing=True)


async def _direct_offer(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    target_login: str,
    kind: str,
) -> Offer:
    now = utcnow()
    async with rt.db.read() as s:
        target = await _user_by_login(s, tenant_id, target_login)
        if target.id == user_id:
            raise Invalid("You already handle this interaction")
        if Privilege.HANDLE_INTERACTIONS not in target.privileges:
            raise Invalid(f"{target_login} does not handle interactions")
        target_id = target.id
    async with rt.db.write() as s:
        agents: dict[str, AgentSession] = {}
        for uid in sorted((user_id, target_id)):
            a = await lock_agent(s, tenant_id, uid)
            if a is not None:
                agents[uid] = a
        me = agents.get(user_id)
        if me is None:
            raise Conflict("Agent is not logged in")
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (CONNECTED,))
        if kind == TRANSFER and step.kind == CONFERENCE:
            raise Conflict("A conferenced party cannot transfer; leave instead")
        chat = await _lock_chat(s, tenant_id, inter.chat_id or "", skip_locked=False)
        if chat is None or chat.state in chatops.ENDED_STATES:
            raise Conflict("The chat has ended")
        target_agent = agents.get(target_id)
        if target_agent is None or target_agent.login_at is None:
            raise Conflict(f"{target_login} is not logged in")
        if kind == TRANSFER and not is_routable(target_agent):
            raise Conflict(f"{target_login} is not ready")
        if not has_room((await loads_of(s, target_id)).get(SLOT)):
            raise Conflict(f"{target_login} has no free chat slot")
        busy = (
            await s.execute(
                select(InteractionStep.id).where(
                    InteractionStep.interaction_id == inter.id,
                    InteractionStep.user_id == target_id,
                    InteractionStep.phase.in_(OPEN_PHASES),
                )
            )
        ).first()
        if busy is not None:
            raise Conflict(f"{target_login} is already in this interaction")
        if kind == TRANSFER:
            pending = (
                await s.execute(
                    select(InteractionStep.id).where(
                        InteractionStep.interaction_id == inter.id,
                        InteractionStep.phase == OFFERED,
                        InteractionStep.kind != CONFERENCE,
                    )
                )
            ).first()
            if pending is not None:
                raise Conflict("A transfer of this interaction is already pending")
            await _hand_over_in(s, me, step, inter, now=now)
        new = await _offer_in(
            rt,
            s,
            chat=chat,
            inter=inter,
            agent=target_agent,
            kind=kind,
            from_user_id=user_id,
            now=now,
        )
        offer = Offer(new.id, inter.id, chat.id, target_id, kind)
        party_id = step.party_id
    if kind == TRANSFER:
        if party_id:
            await _safe(
                "party_left",
                chatops.party_left(
                    rt, tenant_id=tenant_id, chat_id=offer.chat_id, party_id=party_id
                ),
            )
        await _safe(
            "mark_connecting",
            chatops.mark_connecting(rt, tenant_id=tenant_id, chat_id=offer.chat_id),
        )
    await _publish(rt, tenant_id, user_id, target_id, routing=kind == TRANSFER)
    return offer


async def transfer_to_agent(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, target_login: str
) -> Offer:
    """Blind transfer to a ready agent with a free slot: the chat is offered to them (if
    they miss or reject it, it goes back to its service's queue)."""
    return await _direct_offer(
        rt,
        tenant_id=tenant_id,
        user_id=user_id,
        interaction_id=interaction_id,
        target_login=target_login,
        kind=TRANSFER,
    )


async def conference(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, target_login: str
) -> Offer:
    """Invite a logged-in user (a supervisor, say; ready or not) with a free slot into the
    chat; they join when they accept."""
    return await _direct_offer(
        rt,
        tenant_id=tenant_id,
        user_id=user_id,
        interaction_id=interaction_id,
        target_login=target_login,
        kind=CONFERENCE,
    )


# ---- what the agent says and does in the chat ----------------------------------------

AGENT_EVENTS = {
    "chat_session_message",
    "chat_session_message_delivered",
    "chat_session_message_read",
    "chat_session_typing",
    "chat_session_not_typing",
    "chat_session_file",
    "chat_session_form_show",
    "chat_session_location",
    "chat_session_navigation",
}


async def post_event(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, event: dict[str, Any]
) -> int:
    """Post one chat event as the agent's party; returns its sequence number."""
    name = event.get("event")
    if name not in AGENT_EVENTS:
        raise Invalid(f"Agents cannot send event {name!r}")
    async with rt.db.read() as s:
        step, inter = await _my_step(
            s, tenant_id, user_id, interaction_id, (CONNECTED,), lock=False
        )
        party_id, chat_id = step.party_id, inter.chat_id or ""
    if not party_id:
        raise Conflict("Not joined to the chat yet")
    return await chatops.post_party_event(
        rt, tenant_id=tenant_id, chat_id=chat_id, party_id=party_id, event=event
    )


async def set_case(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, case_id: str
) -> None:
    """Link the chat to a CRM case (the customer receives ``chat_session_case_set``)."""
    if not case_id.strip():
        raise Invalid("case_id must not be empty")
    async with rt.db.read() as s:
        _step, inter = await _my_step(
            s, tenant_id, user_id, interaction_id, (CONNECTED, WRAP_UP), lock=False
        )
        chat_id = inter.chat_id or ""
    await chatops.set_case(rt, tenant_id=tenant_id, chat_id=chat_id, case_id=case_id)
    async with rt.db.write() as s:
        row = await s.get(Interaction, interaction_id, with_for_update=True)
        if row is not None:
            row.case_id = case_id
