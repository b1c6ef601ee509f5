"""Reading teams and their supervisors."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.teams.models import Team, team_supervisors
from switchboard.teams.schemas import TeamAdminRead


async def list_teams(*, session: AsyncSession, tenant_id: str) -> Sequence[Team]:
    stmt = select(Team).where(Team.tenant_id == tenant_id).order_by(Team.name)
    return (await session.execute(stmt)).scalars().all()


async def get_by_name(*, session: AsyncSession, tenant_id: str, name: str) -> Team | None:
    stmt = select(Team).where(Team.tenant_id == tenant_id, Team.name == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def supervised_team_ids(*, session: AsyncSession, user_id: str) -> set[str]:
    rows = await session.execute(
        select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == user_id)
    )
    return {r for (r,) in rows.all()}


async def find_team(*, session: AsyncSession, tenant_id: str, ref: str) -> Team:
    from switchboard.core.errors import NotFound

    stmt = select(Team).where(Team.tenant_id == tenant_id, (Team.id == ref) | (Team.name == ref))
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Team not found: {ref}")
    return found


async def team_read(*, session: AsyncSession, team: Team) -> TeamAdminRead:
    from switchboard.users.models import User

    sups = await session.execute(
        select(User.login_id)
        .join(team_supervisors, team_supervisors.c.user_id == User.id)
        .where(team_supervisors.c.team_id == team.id)
        .order_by(User.login_id)
    )
    members = await session.execute(
        select(User.login_id).where(User.team_id == team.id).order_by(User.login_id)
    )
    return TeamAdminRead(
        id=team.id,
        name=team.name,
        description=team.description,
        default_chat_capacity=team.default_chat_capacity,
        supervisors=[x for (x,) in sups.all()],
        members=[x for (x,) in members.all()],
    )
