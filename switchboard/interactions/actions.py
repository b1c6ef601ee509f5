"""The operations that span chats, agents and interaction records, each exactly one
transaction.

A chat is created with its interaction record; an offer reserves the agent's slot and
marks the chat ``connecting``; an answer joins the agent to the chat; a reject, a missed
offer, a transfer, a conference, a leave, an agent's end, the customer's end or
disconnect, a timeout and the end of after-call work each change the chat, the agents
and the record together, or not at all. Wake-ups (``chat:<id>``, ``agent:<user>``,
``routing:<tenant>``) are queued by the primitives with ``after_commit`` and go out
only after the commit.

Lock order everywhere: agent rows (sorted by user id) -> the chat row -> the
interaction -> step rows. An operation that must lock the agents of a chat reads who
they are first, locks them, locks the chat, and checks the set again under the locks
(``_Changed`` restarts it when an offer appeared meanwhile). Routing claims take the
chat and the agent with ``SKIP LOCKED``, so they never wait on anyone.

Two hot operations, an agent's event (``post_event``) and the customer's plain events
(``customer_events``), are group-committed batch items of plain Core.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents import actions as agents
from switchboard.agents.models import NOT_READY, AgentSession
from switchboard.auth.models import AccessToken
from switchboard.auth.service import REVOKED_TOPIC
from switchboard.calls import actions as calls
from switchboard.chats import actions as chats
from switchboard.chats import events as ev
from switchboard.chats import log as chat_log
from switchboard.chats.models import ACTIVE_STATES, ChatParty, ChatPushSubscription, ChatSession
from switchboard.chats.presence import presence_of
from switchboard.core.db import Batched, after_commit, call_after_commit, utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.core.security import token_digest
from switchboard.core.sql import Raw
from switchboard.gms import chat_callback
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
from switchboard.scenarios.models import ScenarioEntry
from switchboard.services.models import Disposition, Service
from switchboard.tenants.models import Tenant
from switchboard.users.models import Privilege, User

log = logging.getLogger(__name__)

SLOT = "chat"
DEFAULT_ACW_SECONDS = 60
T = TypeVar("T")

STEPS = cast(Table, InteractionStep.__table__)
INTERACTIONS = cast(Table, Interaction.__table__)
PARTIES = cast(Table, ChatParty.__table__)


@dataclass(frozen=True)
class Offer:
    step_id: str
    interaction_id: str
    chat_id: str
    user_id: str
    kind: str


class _Changed(Exception):
    """The agents of a chat changed between reading them and locking them."""


async def _retry(op: Callable[[], Awaitable[T]]) -> T:
    """Run a one-transaction operation again when it lost a race (``_Changed``, or a
    concurrent insert of the same unique row)."""
    for attempt in range(5):
        try:
            return await op()
        except (_Changed, IntegrityError):
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


# ---- helpers inside a transaction ---------------------------------------------------------


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


def _new_interaction(chat: ChatSession) -> Interaction:
    return Interaction(
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


async def interaction_of(s: AsyncSession, chat: ChatSession, *, lock: bool = True) -> Interaction:
    """The chat's record (made in the chat's transaction; older databases may lack it)."""
    stmt = select(Interaction).where(Interaction.chat_id == chat.id)
    if lock:
        stmt = stmt.with_for_update()
    inter = (await s.execute(stmt)).scalar_one_or_none()
    if inter is None:
        inter = _new_interaction(chat)
        s.add(inter)
        await s.flush()
    return inter


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


async def _offer_payload(
    s: AsyncSession,
    chat: ChatSession,
    inter: Interaction,
    step: InteractionStep,
    timeout: float,
    now: datetime,
) -> dict[str, Any]:
    svc = await s.get(Service, chat.service_id) if chat.service_id else None
    from_name = None
    if step.from_user_id:
        u = await s.get(User, step.from_user_id)
        from_name = u.display_name if u else None
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
    now: datetime,
    from_user_id: str | None = None,
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
    await agents.reserve_in(s, agent, SLOT, now=now)
    agents.queue_event(s, agent, "offer", await _offer_payload(s, chat, inter, step, timeout, now))
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


async def _revoke_in(
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
    await agents.release_in(s, agent, SLOT, now=now)
    if step.kind != CONFERENCE and not await _has_open_route_step(s, inter):
        inter.state = QUEUED
    agents.queue_event(
        s,
        agent,
        "offer_revoked",
        {"interaction_id": inter.id, "chat_id": inter.chat_id, "reason": reason},
    )


async def _open_steps(
    s: AsyncSession, inter: Interaction, *, lock: bool = False
) -> Sequence[InteractionStep]:
    stmt = select(InteractionStep).where(
        InteractionStep.interaction_id == inter.id, InteractionStep.phase.in_(OPEN_PHASES)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().all()


async def _open_users(s: AsyncSession, tenant_id: str, chat_id: str) -> set[str]:
    rows = await s.execute(
        select(InteractionStep.user_id)
        .join(Interaction, Interaction.id == InteractionStep.interaction_id)
        .where(
            Interaction.chat_id == chat_id,
            Interaction.tenant_id == tenant_id,
            InteractionStep.phase.in_(OPEN_PHASES),
        )
    )
    return set(rows.scalars())


@dataclass
class _Locked:
    agents: dict[str, AgentSession]
    chat: ChatSession
    inter: Interaction


async def _lock_chat_and_agents(
    s: AsyncSession, tenant_id: str, chat_id: str, *, also: Sequence[str] = ()
) -> _Locked:
    """The agents holding a part in the chat (and ``also``), the chat and its record,
    locked in the lock order. ``_Changed`` when a part appeared meanwhile."""
    users = await _open_users(s, tenant_id, chat_id) | set(also)
    locked: dict[str, AgentSession] = {}
    for uid in sorted(users):
        agent = await agents.lock_agent(s, tenant_id, uid)
        if agent is not None:
            locked[uid] = agent
    chat = await chats.lock(s, tenant_id, chat_id)
    inter = await interaction_of(s, chat)
    if not {st.user_id for st in await _open_steps(s, inter)} <= set(users):
        raise _Changed
    return _Locked(locked, chat, inter)


async def finish_in(s: AsyncSession, lk: _Locked, *, reason: str, now: datetime) -> list[str]:
    """The chat's session or conversation ended (by anyone): open offers are revoked,
    connected agents go to after-call work (the service's ``acw_timeout_seconds``),
    the interaction ends. Returns the agents whose part ended."""
    inter = lk.inter
    acw = await _acw_seconds(s, inter)
    wrapping = False
    touched: list[str] = []
    for step in await _open_steps(s, inter, lock=True):
        agent = lk.agents.get(step.user_id)
        if agent is None:
            # logged out meanwhile (the slot went with the session): close the part
            step.phase = DONE
            step.outcome = step.outcome or "revoked"
            step.ended_at = step.ended_at or now
            continue
        if step.phase == OFFERED:
            await _revoke_in(s, agent, step, inter, outcome="revoked", reason=reason, now=now)
        else:
            step.ended_at = now
            step.outcome = "completed" if step.outcome == "accepted" else step.outcome
            if acw > 0:
                step.phase = WRAP_UP
                step.deadline = now + timedelta(seconds=acw)
                wrapping = True
                # the routing worker ends after-call work at its deadline
                after_commit(s, chat_log.routing_topic(lk.chat.tenant_id), "deadline")
            else:
                step.phase = DONE
                step.completed_at = now
            await s.flush()
            await agents.release_in(s, agent, SLOT, wrap_up=acw > 0, now=now)
            agents.queue_event(
                s,
                agent,
                "interaction_ended",
                {
                    "interaction_id": inter.id,
                    "chat_id": lk.chat.id,
                    "reason": reason,
                    "wrap_up_until": _iso(step.deadline) if acw > 0 else None,
                },
            )
        touched.append(step.user_id)
    if inter.state in (QUEUED, OFFERED, CONNECTED):
        inter.ended_at = inter.ended_at or now
        inter.end_reason = inter.end_reason or reason[:64]
        if inter.answered_at is None:
            inter.state = ABANDONED
            inter.completed_at = now
        elif wrapping:
            inter.state = WRAP_UP
        else:
            inter.state = COMPLETED
            inter.completed_at = now
    return touched


# ---- the customer's side ------------------------------------------------------------------


async def request_chat(
    rt: Runtime,
    *,
    tenant_id: str,
    entry: ScenarioEntry,
    client_key: str,
    user_agent: str | None,
    phone_number: str | None,
    from_address: str | None,
    parameters: dict[str, Any],
    initial_message: dict[str, Any] | None,
    poll_abandon_seconds: int,
    on_created: Callable[[AsyncSession, ChatSession], Awaitable[None]] | None = None,
) -> chats.NewChat:
    """Request Chat: the client's active session, or a new one queued by its entry
    with its interaction record, in one transaction (``on_created`` adds whatever the
    caller links to a new chat, in the same transaction)."""

    async def op() -> chats.NewChat:
        now = utcnow()
        async with rt.db.write() as s:
            made = await chats.create_in(
                rt,
                s,
                tenant_id=tenant_id,
                entry=entry,
                client_key=client_key,
                user_agent=user_agent,
                phone_number=phone_number,
                from_address=from_address,
                parameters=parameters,
                initial_message=initial_message,
                poll_abandon_seconds=poll_abandon_seconds,
                now=now,
            )
            if made.is_new:
                s.add(_new_interaction(made.chat))
                if on_created is not None:
                    await on_created(s, made.chat)
                await s.flush()
            return made

    return await _retry(op)


async def customer_events(
    rt: Runtime,
    *,
    tenant_id: str,
    chat_id: str,
    client_key: str,
    events: list[dict[str, Any]],
) -> None:
    """The customer's events (cleaned). Plain ones take the hot path; an end or
    disconnect also ends the agents' work, in the same transaction. 404/5005 for a
    chat that is not the client's or has ended."""
    if not any(e["event"] in chats.ENDING for e in events):
        await chats.post_client_events(
            rt, tenant_id=tenant_id, chat_id=chat_id, client_key=client_key, events=events
        )
        return

    async def op() -> None:
        now = utcnow()
        async with rt.db.write() as s:
            lk = await _lock_chat_and_agents(s, tenant_id, chat_id)
            chat = lk.chat
            if chat.client_key != client_key or chat.state not in ACTIVE_STATES:
                raise chat_log.not_found()
            ending = await chats.client_events_in(s, chat, events, now)
            if ending is None:
                return
            never_connected = chat.connected_at is None
            if ending == ev.END or never_connected:
                reason = "abandoned" if never_connected else "customer_ended"
                await chats.end_in(s, chat, reason=reason, by_party_id=chat.id, now=now)
            else:
                reason = "customer_disconnected"
                await chats.conversation_over_in(s, chat, now=now)
            await finish_in(s, lk, reason=reason, now=now)

    await _retry(op)


# ---- routing claims ---------------------------------------------------------------------------


async def claim_chat(rt: Runtime, *, tenant_id: str, chat_id: str, user_id: str) -> Offer | None:
    """Offer a queued chat to an agent, atomically: the chat must still be queued with no
    open offer, the agent routable with a free chat slot. None when anything changed."""
    now = utcnow()
    async with rt.db.write() as s:
        chat = (
            await s.execute(
                select(ChatSession)
                .where(ChatSession.id == chat_id, ChatSession.tenant_id == tenant_id)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if chat is None or chat.state != "queued":
            return None
        agent = await agents.lock_agent(s, tenant_id, user_id, skip_locked=True)
        if agent is None or not agents.is_routable(agent):
            return None
        if not agents.has_room((await agents.loads_of(s, user_id)).get(SLOT)):
            return None
        inter = await interaction_of(s, chat)
        if await _has_open_route_step(s, inter):
            return None
        step = await _offer_in(rt, s, chat=chat, inter=inter, agent=agent, kind=ROUTE, now=now)
        await chats.mark_connecting_in(rt, s, chat, now)
        return Offer(step.id, inter.id, chat.id, user_id, ROUTE)


# ---- the agent's own steps -----------------------------------------------------------------


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
    agent = await agents.lock_agent(s, tenant_id, user_id)
    if agent is None:
        raise Conflict("Agent is not logged in")
    return agent


async def _chat_of(s: AsyncSession, inter: Interaction) -> str:
    if not inter.chat_id:
        raise Conflict("This interaction has no chat")
    return inter.chat_id


async def accept(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> str:
    """Accept an offer: the agent joins the chat; returns the agent's party id. 409 when
    the offer expired or the chat has ended (then the offer is withdrawn, the slot
    freed)."""

    async def op() -> str:
        now = utcnow()
        async with rt.db.write() as s:
            inter = await s.get(Interaction, interaction_id)
            if inter is None or inter.tenant_id != tenant_id:
                raise NotFound("Interaction not found")
            lk = await _lock_chat_and_agents(s, tenant_id, await _chat_of(s, inter), also=[user_id])
            agent = lk.agents.get(user_id)
            if agent is None:
                raise Conflict("Agent is not logged in")
            step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (OFFERED,))
            if step.deadline is not None and step.deadline <= now:
                raise Conflict("The offer has expired")
            if lk.chat.state not in ACTIVE_STATES:
                raise Conflict("The chat has ended")
            user = await s.get(User, user_id)
            if user is None:
                raise NotFound("User not found")
            party_id = await chats.join_in(rt, s, lk.chat, user, now=now)
            step.phase = CONNECTED
            step.outcome = "accepted"
            step.answered_at = now
            step.deadline = None
            step.party_id = party_id
            if step.kind != CONFERENCE:
                inter.state = CONNECTED
                inter.agent_user_id = user_id
                inter.answered_at = inter.answered_at or now
            payload = {"interaction_id": inter.id, "chat_id": lk.chat.id}
            agents.queue_event(s, agent, "offer_accepted", payload)
            agents.queue_event(s, agent, "interaction_connected", {**payload, "party_id": party_id})
            await calls.agent_joined_in(s, agent, lk.chat, party_id, now)
            if lk.chat.phone_number:  # the entry may call the customer back at once
                call_after_commit(
                    s, partial(_auto_callback, rt, tenant_id, user_id, interaction_id)
                )
            return party_id

    return await _retry(op)


async def _auto_callback(rt: Runtime, tenant_id: str, user_id: str, interaction_id: str) -> None:
    await chat_callback.after_accept(
        rt, tenant_id=tenant_id, user_id=user_id, interaction_id=interaction_id
    )


async def reject(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> None:
    """Decline an offer: the chat goes back to the queue (not to this agent for a while)."""

    async def op() -> None:
        now = utcnow()
        async with rt.db.write() as s:
            inter = await s.get(Interaction, interaction_id)
            if inter is None or inter.tenant_id != tenant_id:
                raise NotFound("Interaction not found")
            lk = await _lock_chat_and_agents(s, tenant_id, await _chat_of(s, inter), also=[user_id])
            agent = lk.agents.get(user_id)
            if agent is None:
                raise Conflict("Agent is not logged in")
            step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (OFFERED,))
            await _revoke_in(s, agent, step, inter, outcome="rejected", reason="rejected", now=now)
            if step.kind != CONFERENCE and lk.chat.state in ACTIVE_STATES:
                await chats.requeue_in(rt, s, lk.chat, now=now)

    await _retry(op)


async def expire_offers(rt: Runtime, *, limit: int = 200) -> int:
    """Offers past their deadline become ``missed``, each in its own transaction: the
    agent goes not-ready (setting ``missed_offer_reason``) and the chat is re-queued
    for another agent."""
    now = utcnow()
    async with rt.db.read() as s:
        due = (
            await s.execute(
                select(
                    InteractionStep.id,
                    InteractionStep.tenant_id,
                    InteractionStep.user_id,
                    Interaction.chat_id,
                )
                .join(Interaction, Interaction.id == InteractionStep.interaction_id)
                .where(InteractionStep.phase == OFFERED, InteractionStep.deadline <= now)
                .limit(limit)
            )
        ).all()
    done = 0
    for step_id, tenant_id, user_id, chat_id in due:
        if await _retry(partial(_miss, rt, step_id, tenant_id, user_id, chat_id or "", now)):
            done += 1
    return done


async def _miss(
    rt: Runtime, step_id: str, tenant_id: str, user_id: str, chat_id: str, now: datetime
) -> bool:
    async with rt.db.write() as s:
        lk = await _lock_chat_and_agents(s, tenant_id, chat_id, also=[user_id])
        step = (
            await s.execute(
                select(InteractionStep)
                .where(
                    InteractionStep.id == step_id,
                    InteractionStep.phase == OFFERED,
                    InteractionStep.deadline <= now,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        agent = lk.agents.get(user_id)
        if step is None or agent is None:
            return False
        await _revoke_in(s, agent, step, lk.inter, outcome="missed", reason="timeout", now=now)
        reason = rt.settings.missed_offer_reason
        if reason and step.kind != CONFERENCE and agent.login_at is not None:
            await agents.set_presence_in(s, agent, NOT_READY, reason, now=now)
        if step.kind != CONFERENCE and lk.chat.state in ACTIVE_STATES:
            await chats.requeue_in(rt, s, lk.chat, now=now)
        return True


# a condition a caller re-checks under the agent's lock (e.g. "the desktop is still
# gone"), given the transaction and its time: False leaves the agent as it is
StillWanted = Callable[[AsyncSession, datetime], Awaitable[bool]]


async def logout(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    token: str | None = None,
    only_if: StillWanted | None = None,
) -> agents.AgentStatus | None:
    """Log the agent out: pending offers are withdrawn and their chats re-queued, and
    the session ``token`` (if given) is revoked, in the same transaction. 409 while
    interactions are connected or in after-call work. With ``only_if``, that condition
    is checked in the same transaction, under the agent's lock: None when it no longer
    holds (nothing changed)."""

    async def op() -> agents.AgentStatus | None:
        now = utcnow()
        async with rt.db.write() as s:
            agent = await agents.lock_agent(s, tenant_id, user_id)
            if agent is None or agent.login_at is None:
                raise Conflict("Agent is not logged in")
            if only_if is not None and not await only_if(s, now):
                return None
            offers = (
                await s.execute(
                    select(InteractionStep, Interaction)
                    .join(Interaction, Interaction.id == InteractionStep.interaction_id)
                    .where(InteractionStep.user_id == user_id, InteractionStep.phase == OFFERED)
                    .order_by(Interaction.chat_id)
                    .with_for_update()
                )
            ).all()
            for step, inter in offers:
                chat = await chats.lock(s, tenant_id, inter.chat_id or "")
                await _revoke_in(s, agent, step, inter, outcome="revoked", reason="logout", now=now)
                if step.kind != CONFERENCE and chat.state in ACTIVE_STATES:
                    await chats.requeue_in(rt, s, chat, now=now)
            status = await agents.end_session_in(s, agent, now=now)
            if token:
                await s.execute(
                    delete(AccessToken).where(
                        AccessToken.digest == token_digest(token), AccessToken.user_id == user_id
                    )
                )
                after_commit(s, REVOKED_TOPIC, "")
            return status

    return await _retry(op)


# ---- the end of a chat and after-call work ---------------------------------------------


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


async def _disposition_in(
    s: AsyncSession,
    step: InteractionStep,
    inter: Interaction,
    *,
    disposition: str | None,
    notes: str | None,
) -> None:
    if step.phase == DONE and step.outcome not in ("completed", "transferred", "left"):
        raise Conflict("This offer was never answered")
    if disposition is not None:
        await _check_disposition(s, inter, disposition)
        step.disposition = disposition
        inter.disposition = disposition
    if notes is not None:
        step.notes = notes
        inter.notes = notes


async def _require_disposition(s: AsyncSession, step: InteractionStep, inter: Interaction) -> None:
    """400 when the interaction's service ends after-call work only with a disposition
    and the agent's part has none (an expired wrap-up still ends without one)."""
    if step.disposition or inter.service_id is None:
        return
    required = (
        await s.execute(
            select(Service.disposition_required).where(Service.id == inter.service_id)
        )
    ).scalar()
    if required:
        raise Invalid(
            "A disposition is required to complete after-call work on this service",
            field="disposition",
        )


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
    await agents.release_in(s, agent, SLOT, from_wrapup=True, now=now)
    await _finish_interaction_in(s, inter, now)
    agents.queue_event(
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
        await _disposition_in(s, step, inter, disposition=disposition, notes=notes)


async def complete_wrap_up(
    rt: Runtime,
    *,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    disposition: str | None = None,
    notes: str | None = None,
) -> None:
    """End the agent's after-call work on this interaction (frees the slot), with the
    disposition and notes given."""
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (WRAP_UP,))
        await _disposition_in(s, step, inter, disposition=disposition, notes=notes)
        await _require_disposition(s, step, inter)
        await _complete_in(s, agent, step, inter, now=now)


async def expire_wrap_ups(rt: Runtime, *, limit: int = 200) -> int:
    """After-call work past its deadline ends, each in its own transaction."""
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
            agent = await agents.lock_agent(s, tenant_id, user_id)
            step = (
                await s.execute(
                    select(InteractionStep)
                    .where(InteractionStep.id == step_id, InteractionStep.phase == WRAP_UP)
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if agent is None or step is None:
                continue
            inter = await s.get(Interaction, step.interaction_id, with_for_update=True)
            if inter is None:
                continue
            await _complete_in(s, agent, step, inter, now=now, timed_out=True)
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
    ``complete``, straight back to work), with the disposition and notes given."""

    async def op() -> None:
        now = utcnow()
        async with rt.db.write() as s:
            inter = await s.get(Interaction, interaction_id)
            if inter is None or inter.tenant_id != tenant_id:
                raise NotFound("Interaction not found")
            lk = await _lock_chat_and_agents(s, tenant_id, await _chat_of(s, inter), also=[user_id])
            step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (CONNECTED,))
            if disposition is not None:
                await _check_disposition(s, inter, disposition)
            if complete and disposition is None and not step.disposition:
                await _require_disposition(s, step, inter)  # before anything changes
            if lk.chat.state in ACTIVE_STATES:
                await chats.end_in(s, lk.chat, reason="agent", by_party_id=step.party_id, now=now)
            await finish_in(s, lk, reason="agent", now=now)
            await _disposition_in(s, step, inter, disposition=disposition, notes=notes)
            agent = lk.agents.get(user_id)
            if complete and step.phase == WRAP_UP and agent is not None:
                await _complete_in(s, agent, step, inter, now=now)

    await _retry(op)


async def leave(rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str) -> None:
    """A conferenced party leaves the chat (the chat goes on with the others)."""
    now = utcnow()
    async with rt.db.write() as s:
        agent = await _locked_agent(s, tenant_id, user_id)
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (CONNECTED,))
        if step.kind != CONFERENCE:
            raise Conflict("Only a conferenced party can leave; end or transfer instead")
        chat = await chats.lock(s, tenant_id, await _chat_of(s, inter))
        step.phase = DONE
        step.outcome = "left"
        step.ended_at = now
        step.completed_at = now
        await s.flush()
        await agents.release_in(s, agent, SLOT, now=now)
        if step.party_id:
            await chats.party_left_in(s, chat, step.party_id, now)
        agents.queue_event(
            s,
            agent,
            "interaction_ended",
            {"interaction_id": inter.id, "chat_id": chat.id, "reason": "left"},
        )


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
    chat: ChatSession,
    *,
    now: datetime,
) -> None:
    """The transferring agent's part ends (after-call work as configured) and the
    agent's party leaves the chat."""
    acw = await _acw_seconds(s, inter)
    step.outcome = "transferred"
    step.ended_at = now
    if acw > 0:
        step.phase = WRAP_UP
        step.deadline = now + timedelta(seconds=acw)
        after_commit(s, chat_log.routing_topic(chat.tenant_id), "deadline")
    else:
        step.phase = DONE
        step.completed_at = now
    await s.flush()
    await agents.release_in(s, agent, SLOT, wrap_up=acw > 0, now=now)
    if step.party_id:
        await chats.party_left_in(s, chat, step.party_id, now)
    agents.queue_event(
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
        chat = await chats.lock_active(s, tenant_id, await _chat_of(s, inter))
        await _hand_over_in(s, agent, step, inter, chat, now=now)
        inter.state = QUEUED
        inter.service_id = svc.id
        await chats.requeue_in(
            rt,
            s,
            chat,
            now=now,
            service_id=svc.id,
            requested_skills=requested_skills,
            priority=priority,
        )


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
    async with rt.db.write() as s:
        target = await _user_by_login(s, tenant_id, target_login)
        if target.id == user_id:
            raise Invalid("You already handle this interaction")
        if Privilege.HANDLE_INTERACTIONS not in target.privileges:
            raise Invalid(f"{target_login} does not handle interactions")
        locked: dict[str, AgentSession] = {}
        for uid in sorted((user_id, target.id)):
            a = await agents.lock_agent(s, tenant_id, uid)
            if a is not None:
                locked[uid] = a
        me = locked.get(user_id)
        if me is None:
            raise Conflict("Agent is not logged in")
        step, inter = await _my_step(s, tenant_id, user_id, interaction_id, (CONNECTED,))
        if kind == TRANSFER and step.kind == CONFERENCE:
            raise Conflict("A conferenced party cannot transfer; leave instead")
        chat = await chats.lock(s, tenant_id, await _chat_of(s, inter))
        if chat.state not in ACTIVE_STATES:
            raise Conflict("The chat has ended")
        target_agent = locked.get(target.id)
        if target_agent is None or target_agent.login_at is None:
            raise Conflict(f"{target_login} is not logged in")
        if kind == TRANSFER and not agents.is_routable(target_agent):
            raise Conflict(f"{target_login} is not ready")
        if not agents.has_room((await agents.loads_of(s, target.id)).get(SLOT)):
            raise Conflict(f"{target_login} has no free chat slot")
        busy = (
            await s.execute(
                select(InteractionStep.id).where(
                    InteractionStep.interaction_id == inter.id,
                    InteractionStep.user_id == target.id,
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
            await _hand_over_in(s, me, step, inter, chat, now=now)
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
        # the routing worker withdraws the offer at its deadline
        after_commit(s, chat_log.routing_topic(tenant_id), "deadline")
        return Offer(new.id, inter.id, chat.id, target.id, kind)


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


async def set_case(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, case_id: str
) -> None:
    """Link the chat to a CRM case (the customer receives ``chat_session_case_set``) and
    the interaction record with it."""
    if not case_id.strip():
        raise Invalid("case_id must not be empty")
    now = utcnow()
    async with rt.db.write() as s:
        _step, inter = await _my_step(
            s, tenant_id, user_id, interaction_id, (CONNECTED, WRAP_UP), lock=False
        )
        chat = await chats.lock(s, tenant_id, await _chat_of(s, inter))
        await chats.set_case_in(s, chat, case_id, now)
        inter.case_id = chat.case_id


# ---- what the agent says and does in the chat: the hot path -------------------------------

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
    "chat_session_signaling",
}
# what a customer without a held poll is told about by push notification
PUSHED = (ev.MESSAGE, ev.FILE, ev.FORM_SHOW)


@dataclass
class _Posted:
    seq: int
    chat_id: str
    sender: str
    # the customer's device token, when the event is one a push notification announces
    push: ChatPushSubscription | None


def _post_event_fn(
    raw: Raw,
    tenant_id: str,
    user_id: str,
    interaction_id: str,
    event: dict[str, Any],
    now: datetime,
) -> Batched:
    mine = raw.one(
        "SELECT s.party_id, i.chat_id FROM interaction_steps s"
        " JOIN interactions i ON i.id = s.interaction_id"
        " WHERE s.interaction_id = ? AND s.user_id = ? AND s.phase = ? AND i.tenant_id = ?"
        " LIMIT 1",
        (interaction_id, user_id, CONNECTED, tenant_id),
    )
    if mine is None:
        known = raw.one(
            "SELECT s.phase FROM interaction_steps s"
            " JOIN interactions i ON i.id = s.interaction_id"
            " WHERE s.interaction_id = ? AND s.user_id = ? AND i.tenant_id = ? LIMIT 1",
            (interaction_id, user_id, tenant_id),
        )
        if known is None:
            raise NotFound("Interaction not found")
        raise Conflict("Your part in this interaction is not connected")
    party_id, chat_id = mine
    if not party_id or not chat_id:
        raise Conflict("Not joined to the chat yet")
    chat, party = chat_log.lock_row_with_party(raw, tenant_id, chat_id, party_id)
    if chat is None or chat.state not in ACTIVE_STATES:
        raise chats.ended()
    if party is None:
        raise NotFound(f"Party not found: {party_id}")
    if party.left_at is not None:
        raise Conflict("The party has left the chat", code="party_left")
    kind = event["event"]
    if kind == ev.FILE:
        chat_log.file_fields(raw, tenant_id, chat.id, event, party_id)
    chats.complete_form(event, chat.last_seq + 1)
    done = chat_log.write_events(
        raw,
        chat,
        [("server", event, party_id)],
        now=now,
        activity=kind in chat_log.ACTIVITY,
        client_activity=False,
    )
    subscription = None
    if kind in PUSHED and party.push is not None:
        sub_kind, token, bundle_id = party.push
        subscription = ChatPushSubscription(
            chat_id=chat.id, tenant_id=tenant_id, kind=sub_kind, token=token, bundle_id=bundle_id
        )
    return Batched(
        _Posted(done.seqs[0], chat.id, party.display_name, subscription),
        [(chat_log.chat_topic(chat.id), f"server:{done.last_seq}")],
    )


async def _push(
    rt: Runtime, subscription: ChatPushSubscription, sender: str, event: dict[str, Any]
) -> None:
    from switchboard.chats.push import notify

    text = str(event.get("msg") or event.get("file_name") or event.get("form_name") or "")
    await notify(rt, subscription, title=sender, body=text, data={"chat_id": subscription.chat_id})


async def post_event(
    rt: Runtime, *, tenant_id: str, user_id: str, interaction_id: str, event: dict[str, Any]
) -> int:
    """Post one chat event as the agent's party (one group-committed batch item);
    returns its sequence number."""
    name = event.get("event")
    if name not in AGENT_EVENTS:
        raise Invalid(f"Agents cannot send event {name!r}")
    clean = ev.clean(event, ev.PARTY_EVENTS)
    posted: _Posted = await rt.db.batch(
        _post_event_fn, tenant_id, user_id, interaction_id, clean, utcnow(), key=interaction_id
    )
    # a customer who holds no poll (an app in the background) is told by push, after
    # the commit and off the request
    if posted.push is not None and await presence_of(rt).owner(posted.chat_id) is None:
        rt.db.background(partial(_push, rt, posted.push, posted.sender, clean))
    return posted.seq


# ---- chat timers: a timeout ends the agents' work too ------------------------------------


async def fire_chat_timers(rt: Runtime, *, limit: int = 200) -> int:
    """Fire due inactivity warnings and timeouts, and end chats whose customer is gone,
    each chat in its own transaction (its agents' work ends with it). The chat row is
    taken with ``SKIP LOCKED``: N processes never fire the same timer twice. Chats that
    were only due for a look at their customer, who polled since, get their next look
    in one shared transaction."""
    now = utcnow()
    async with rt.db.read() as s:
        due = (
            await s.execute(
                select(
                    ChatSession.id,
                    ChatSession.tenant_id,
                    ChatSession.poll_deadline_at,
                    ChatSession.due_at,
                    ChatSession.poll_abandon_seconds,
                )
                .where(chats.due_clause(now))
                .order_by(ChatSession.id)
                .limit(limit)
            )
        ).all()
    if not due:
        return 0
    gone = [r.id for r in due if r.poll_deadline_at is not None and r.poll_deadline_at <= now]
    seen = await presence_of(rt).last_seen(gone) if gone else {}
    alive: list[tuple[str, datetime, datetime]] = []
    fire: list[tuple[str, str]] = []
    for row in due:
        last = seen.get(row.id)
        if (
            row.id in seen
            and last is not None
            and (row.due_at is None or row.due_at > now)
            and last + row.poll_abandon_seconds > now.timestamp()
        ):
            polled = datetime.fromtimestamp(last, UTC)
            alive.append((row.id, polled, polled + timedelta(seconds=row.poll_abandon_seconds)))
        else:
            fire.append((row.id, row.tenant_id))
    if alive:
        await rt.db.raw_write(_look_again, alive, now)
    fired = 0
    for chat_id, tenant_id in fire:
        if await _retry(partial(_fire, rt, tenant_id, chat_id, seen.get(chat_id), now)):
            fired += 1
    return fired + len(alive)


def _look_again(raw: Raw, alive: list[tuple[str, datetime, datetime]], now: datetime) -> None:
    """The customers of these chats polled lately: look again when they would be gone."""
    raw.many(
        "UPDATE chat_sessions SET last_poll_at = ?, poll_deadline_at = ?"
        " WHERE id = ? AND poll_deadline_at <= ?",
        [
            (raw.ts(polled), raw.ts(deadline), chat_id, raw.ts(now))
            for chat_id, polled, deadline in alive
        ],
    )


async def _fire(
    rt: Runtime, tenant_id: str, chat_id: str, last_seen: float | None, now: datetime
) -> bool:
    async with rt.db.write() as s:
        users = await _open_users(s, tenant_id, chat_id)
        locked: dict[str, AgentSession] = {}
        for uid in sorted(users):
            agent = await agents.lock_agent(s, tenant_id, uid)
            if agent is not None:
                locked[uid] = agent
        chat = (
            await s.execute(
                select(ChatSession)
                .where(ChatSession.id == chat_id, chats.due_clause(now))
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if chat is None:
            return False
        outcome = await chats.timer_in(s, chat, now=now, last_seen=last_seen)
        if outcome.ended is None:
            return outcome.warned
        inter = await interaction_of(s, chat)
        if not {st.user_id for st in await _open_steps(s, inter)} <= users:
            raise _Changed
        await finish_in(s, _Locked(locked, chat, inter), reason=outcome.ended, now=now)
        return True


async def next_timer_in(rt: Runtime) -> float | None:
    """Seconds until the next chat timer is due (None: none is)."""
    from sqlalchemy import func

    async with rt.db.read() as s:
        due_at, deadline = (
            await s.execute(
                select(func.min(ChatSession.due_at), func.min(ChatSession.poll_deadline_at))
            )
        ).one()
    nearest = min((d for d in (due_at, deadline) if d is not None), default=None)
    if nearest is None:
        return None
    return max(0.0, (nearest - utcnow()).total_seconds())
