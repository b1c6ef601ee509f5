"""Reading teams and their supervisors."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.teams.models import Team, team_supervisors


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
