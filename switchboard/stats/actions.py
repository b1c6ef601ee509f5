"""Every change of the statistics domain: subscriptions and team messages."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update

from switchboard.auth.models import AccessToken
from switchboard.auth.service import Principal
from switchboard.core.db import utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.stats.definition import SubscriptionDef
from switchboard.stats.engine import get_engine
from switchboard.stats.models import StatsSubscription, TeamMessage
from switchboard.teams.models import Team
from switchboard.tenants.models import Tenant
from switchboard.users.models import User

LIMIT_SETTING = "stats_max_subscriptions"
MAX_MESSAGE_CHARS = 2000
LIMIT_EXCEEDED = "4009"


def messages_topic(tenant_id: str) -> str:
    return f"team_messages:{tenant_id}"


async def create_subscription(
    rt: Runtime, *, principal: Principal, definition: SubscriptionDef
) -> StatsSubscription:
    """Create the client's subscription, replacing its previous one (one per token).

    409 when the tenant already has its limit of active subscriptions (tenant setting
    ``stats_max_subscriptions``, else ``SWITCHBOARD_STATS_MAX_SUBSCRIPTIONS``)."""
    settings = get_engine(rt).settings
    now = utcnow()
    active_since = now - timedelta(seconds=settings.subscription_idle_seconds)
    async with rt.db.write() as s:
        # the tenant row serialises concurrent creations (the limit is exact)
        tenant = (
            await s.execute(
                select(Tenant).where(Tenant.id == principal.tenant_id).with_for_update()
            )
        ).scalar_one_or_none()
        if tenant is None:
            raise NotFound("Tenant not found")
        try:
            limit = int(tenant.setting(LIMIT_SETTING, settings.max_subscriptions))
        except (TypeError, ValueError):
            limit = settings.max_subscriptions
        active = (
            await s.execute(
                select(func.count())
                .select_from(StatsSubscription)
                .join(AccessToken, AccessToken.id == StatsSubscription.token_id)
                .where(
                    StatsSubscription.tenant_id == principal.tenant_id,
                    StatsSubscription.token_id != principal.token_id,
                    StatsSubscription.polled_at >= active_since,
                    AccessToken.expires_at > now,
                )
            )
        ).scalar_one()
        if active >= limit:
            raise Conflict(
                f"Limit of active subscriptions exceeded for tenant ({limit})",
                code=LIMIT_EXCEEDED,
            )
        sub = (
            await s.execute(
                select(StatsSubscription)
                .where(StatsSubscription.token_id == principal.token_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        data = definition.model_dump(mode="json")
        if sub is None:
            sub = StatsSubscription(
                tenant_id=principal.tenant_id,
                user_id=principal.user_id,
                token_id=principal.token_id,
                definition=data,
                created_at=now,
                polled_at=now,
            )
            s.add(sub)
        else:
            sub.definition = data
            sub.created_at = now
            sub.polled_at = now
        await s.flush()
    return sub


async def delete_subscription(rt: Runtime, *, principal: Principal) -> None:
    async with rt.db.write() as s:
        result = await s.execute(
            delete(StatsSubscription).where(StatsSubscription.token_id == principal.token_id)
        )
        if not getattr(result, "rowcount", 0):
            raise NotFound("There is no active subscription")


async def touch_subscriptions(rt: Runtime, *, subscription_ids: list[str]) -> None:
    """Record polls (keeps the subscriptions active): one statement for many."""
    if not subscription_ids:
        return
    async with rt.db.write() as s:
        for i in range(0, len(subscription_ids), 500):
            await s.execute(
                update(StatsSubscription)
                .where(StatsSubscription.id.in_(sorted(subscription_ids[i : i + 500])))
                .values(polled_at=utcnow())
            )


async def purge(rt: Runtime) -> tuple[int, int]:
    """Delete idle subscriptions and old team messages; returns how many of each."""
    settings = get_engine(rt).settings
    now = utcnow()
    async with rt.db.write() as s:
        subs = await s.execute(
            delete(StatsSubscription).where(
                StatsSubscription.polled_at
                < now - timedelta(seconds=settings.subscription_idle_seconds)
            )
        )
        msgs = await s.execute(
            delete(TeamMessage).where(
                TeamMessage.created_at < now - timedelta(days=settings.messages_retention_days)
            )
        )
    return int(getattr(subs, "rowcount", 0) or 0), int(getattr(msgs, "rowcount", 0) or 0)


async def post_message(
    rt: Runtime,
    *,
    principal: Principal,
    content: str,
    team_ids: list[str] | None = None,
    urgent: bool = False,
) -> TeamMessage:
    """Post an internal message to teams (``chat_messages`` of the statistics API).

    Agents post to their own team, supervisors also to the teams they supervise;
    without ``team_ids`` the message goes to all of them."""
    text = (content or "").strip()
    if not text:
        raise Invalid("content must not be empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise Invalid(f"content is longer than {MAX_MESSAGE_CHARS} characters")
    from switchboard.stats.service import audience_of

    async with rt.db.write() as s:
        user = await s.get(User, principal.user_id)
        if user is None or user.tenant_id != principal.tenant_id:
            raise NotFound("User not found")
        allowed = await audience_of(session=s, user=user)
        if team_ids:
            wanted = list(dict.fromkeys(team_ids))
            known = {
                t
                for (t,) in (
                    await s.execute(
                        select(Team.id).where(
                            Team.tenant_id == principal.tenant_id, Team.id.in_(wanted)
                        )
                    )
                ).all()
            }
            unknown = [t for t in wanted if t not in known]
            if unknown:
                raise NotFound("Unknown team: " + ", ".join(unknown))
            foreign = [t for t in wanted if t not in allowed]
            if foreign:
                from switchboard.core.errors import Forbidden

                raise Forbidden("You can only post to your own team and the teams you supervise")
            targets = wanted
        else:
            targets = sorted(allowed)
            if not targets:
                raise Invalid("You belong to no team: name the team_ids to post to")
        msg = TeamMessage(
            tenant_id=principal.tenant_id,
            sender_user_id=user.id,
            sender_login_id=user.login_id,
            sender_first_name=user.first_name or "",
            sender_last_name=user.last_name or "",
            team_ids=targets,
            content=text,
            is_urgent=bool(urgent),
            created_at=utcnow(),
        )
        s.add(msg)
        await s.flush()
    await rt.bus.publish(messages_topic(principal.tenant_id), msg.id)
    return msg
