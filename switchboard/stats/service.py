"""Reads of the statistics domain: subscriptions, configuration lists, team messages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.services.models import Disposition, Service
from switchboard.stats.models import StatsSubscription, TeamMessage
from switchboard.teams.models import Team, team_supervisors
from switchboard.users.models import User

DISPOSITION_FLAGS = {
    "agentCanSelect": Disposition.agent_can_select,
    "inbound": Disposition.inbound,
    "outbound": Disposition.outbound,
    "preview": Disposition.preview,
}


async def get_subscription(*, session: AsyncSession, token_id: str) -> StatsSubscription | None:
    stmt = select(StatsSubscription).where(StatsSubscription.token_id == token_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_disposition_names(
    *, session: AsyncSession, tenant_id: str, flags: dict[str, bool]
) -> list[str]:
    """Distinct disposition names of the tenant (every service and the global ones),
    keeping only those whose flags match ``flags`` (e.g. ``{"inbound": True}``)."""
    stmt = select(Disposition.name).where(Disposition.tenant_id == tenant_id)
    for key, wanted in flags.items():
        stmt = stmt.where(DISPOSITION_FLAGS[key].is_(wanted))
    names = {n for (n,) in (await session.execute(stmt)).all()}
    return sorted(names, key=lambda n: (n.lower(), n))


async def list_supervised_teams(
    *, session: AsyncSession, tenant_id: str, user_id: str
) -> Sequence[tuple[str, str]]:
    stmt = (
        select(Team.id, Team.name)
        .join(team_supervisors, team_supervisors.c.team_id == Team.id)
        .where(Team.tenant_id == tenant_id, team_supervisors.c.user_id == user_id)
        .order_by(Team.name)
    )
    return [(i, n) for i, n in (await session.execute(stmt)).all()]


async def list_services(*, session: AsyncSession, tenant_id: str) -> Sequence[tuple[str, str]]:
    stmt = (
        select(Service.id, Service.name)
        .where(Service.tenant_id == tenant_id, Service.enabled.is_(True))
        .order_by(Service.name)
    )
    return [(i, n) for i, n in (await session.execute(stmt)).all()]


async def get_service_by_name(
    *, session: AsyncSession, tenant_id: str, name: str
) -> Service | None:
    stmt = select(Service).where(Service.tenant_id == tenant_id, Service.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def audience_of(*, session: AsyncSession, user: User) -> set[str]:
    """The teams a user hears from: the own team and the supervised ones."""
    teams = {
        t
        for (t,) in (
            await session.execute(
                select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == user.id)
            )
        ).all()
    }
    if user.team_id:
        teams.add(user.team_id)
    return teams


async def list_messages(
    *,
    session: AsyncSession,
    tenant_id: str,
    team_ids: set[str],
    text: str = "",
    limit: int = 20,
    scan: int = 500,
) -> list[TeamMessage]:
    """The newest team messages addressed to ``team_ids`` (or to everybody)."""
    stmt = (
        select(TeamMessage)
        .where(TeamMessage.tenant_id == tenant_id)
        .order_by(TeamMessage.created_at.desc(), TeamMessage.id.desc())
        .limit(scan)
    )
    needle = text.lower()
    out: list[TeamMessage] = []
    for m in (await session.execute(stmt)).scalars():
        if m.team_ids and not (set(m.team_ids) & team_ids):
            continue
        if needle and needle not in m.content.lower():
            continue
        out.append(m)
        if len(out) >= limit:
            break
    return out
