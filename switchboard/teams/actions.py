"""Changing teams and their membership (a user belongs to one team at most).

Every change queues ``tenant:<id>:teams`` (and ``tenant:<id>:users`` when users moved)
and ``config:<id>`` in its one write transaction; they are published after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.core.db import after_commit, utcnow
from switchboard.core.errors import Conflict, Invalid, NotFound
from switchboard.core.runtime import Runtime
from switchboard.teams.models import Team, team_supervisors
from switchboard.teams.schemas import TeamCreate, TeamUpdate
from switchboard.tenants.config import config_changed
from switchboard.users.models import User


def teams_topic(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:teams"


def _users_topic(tenant_id: str) -> str:
    return f"tenant:{tenant_id}:users"


class StaleTeam(Exception):
    """The team changed since the caller read it (optimistic concurrency)."""


@dataclass(frozen=True)
class TeamSnapshot:
    """What a caller saw of a team: its name and its members' ids."""

    name: str
    member_ids: tuple[str, ...]


async def member_ids(s: AsyncSession, team_id: str) -> list[str]:
    rows = await s.execute(select(User.id).where(User.team_id == team_id).order_by(User.id))
    return [r for (r,) in rows.all()]


def _check_name(name: str) -> str:
    if not name or not name.strip():
        raise Invalid("A team needs a name", code="invalidValue")
    if len(name) > 255:
        raise Invalid("A team name is at most 255 characters", code="invalidValue")
    return name


async def _name_taken(s: AsyncSession, tenant_id: str, name: str, except_team: str | None) -> bool:
    stmt = select(Team.id).where(Team.tenant_id == tenant_id, Team.name == name)
    if except_team:
        stmt = stmt.where(Team.id != except_team)
    return (await s.execute(stmt)).first() is not None


async def _set_members(s: AsyncSession, team: Team, wanted: Iterable[str]) -> bool:
    """Make exactly ``wanted`` (user ids) the team's members; True if anyone moved."""
    ids = list(dict.fromkeys(wanted))
    if ids:
        found = {
            uid
            for (uid,) in (
                await s.execute(
                    select(User.id).where(User.tenant_id == team.tenant_id, User.id.in_(ids))
                )
            ).all()
        }
        missing = [uid for uid in ids if uid not in found]
        if missing:
            raise Invalid("No such user: " + ", ".join(missing), code="invalidValue")
    current = set(await member_ids(s, team.id))
    joining = [uid for uid in ids if uid not in current]
    leaving = sorted(current - set(ids))
    now = utcnow()
    # Rows are updated in id order so that concurrent moves lock them consistently.
    if leaving:
        await s.execute(
            update(User)
            .where(User.tenant_id == team.tenant_id, User.id.in_(leaving))
            .values(team_id=None, updated_at=now, version=User.version + 1)
        )
    if joining:
        await s.execute(
            update(User)
            .where(User.tenant_id == team.tenant_id, User.id.in_(sorted(joining)))
            .values(team_id=team.id, updated_at=now, version=User.version + 1)
        )
    return bool(leaving or joining)


async def _set_supervisors(s: AsyncSession, team: Team, wanted: Iterable[str]) -> None:
    """Make exactly ``wanted`` (user ids of the tenant) the team's supervisors."""
    ids = sorted(set(wanted))
    if ids:
        found = {
            uid
            for (uid,) in (
                await s.execute(
                    select(User.id).where(User.tenant_id == team.tenant_id, User.id.in_(ids))
                )
            ).all()
        }
        missing = [uid for uid in ids if uid not in found]
        if missing:
            raise Invalid("No such user: " + ", ".join(missing), field="supervisors")
    await s.execute(delete(team_supervisors).where(team_supervisors.c.team_id == team.id))
    if ids:
        await s.execute(
            insert(team_supervisors), [{"team_id": team.id, "user_id": uid} for uid in ids]
        )


def _changed(s: AsyncSession, tenant_id: str, team_id: str, users_moved: bool) -> None:
    after_commit(s, teams_topic(tenant_id), team_id)
    if users_moved:
        after_commit(s, _users_topic(tenant_id), "")
    config_changed(s, tenant_id, f"team:{team_id}")


async def create_team(
    rt: Runtime,
    *,
    tenant_id: str,
    name: str,
    members: Iterable[str] = (),
    description: str | None = None,
    default_chat_capacity: int | None = None,
    supervisors: Iterable[str] | None = None,
) -> Team:
    """A new team; ``members`` (user ids) move into it from their former teams;
    ``supervisors`` (user ids) supervise it."""
    _check_name(name)
    try:
        async with rt.db.write() as s:
            if await _name_taken(s, tenant_id, name, None):
                raise Conflict(f"Team already exists: {name}", code="uniqueness", field="name")
            team = Team(tenant_id=tenant_id, name=name, description=description)
            if default_chat_capacity is not None:
                team.default_chat_capacity = default_chat_capacity
            s.add(team)
            await s.flush()
            moved = await _set_members(s, team, members)
            if supervisors is not None:
                await _set_supervisors(s, team, supervisors)
            _changed(s, tenant_id, team.id, moved)
    except IntegrityError as e:
        raise Conflict(f"Team already exists: {name}", code="uniqueness", field="name") from e
    return team


async def update_team(
    rt: Runtime,
    *,
    tenant_id: str,
    team_id: str,
    name: str,
    members: Iterable[str] | None,
    expected: TeamSnapshot | None = None,
    description: str | None = None,
    default_chat_capacity: int | None = None,
    supervisors: Iterable[str] | None = None,
) -> Team:
    """Rename a team and, unless ``members`` is None, set its members exactly (likewise
    ``supervisors``; ``description`` and ``default_chat_capacity`` change when given).

    ``expected`` is the state the change was computed from: :class:`StaleTeam` when
    the team no longer looks like that."""
    _check_name(name)
    try:
        async with rt.db.write() as s:
            team = (
                await s.execute(
                    select(Team)
                    .where(Team.id == team_id, Team.tenant_id == tenant_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if team is None:
                raise NotFound(f"Team not found: {team_id}")
            if expected is not None:
                seen = TeamSnapshot(team.name, tuple(sorted(await member_ids(s, team.id))))
                if seen != TeamSnapshot(expected.name, tuple(sorted(expected.member_ids))):
                    raise StaleTeam(team_id)
            if name != team.name:
                if await _name_taken(s, tenant_id, name, team.id):
                    raise Conflict(f"Team already exists: {name}", code="uniqueness")
                team.name = name
            if members is not None:
                await _set_members(s, team, members)
            if supervisors is not None:
                await _set_supervisors(s, team, supervisors)
            if description is not None:
                team.description = description or None
            if default_chat_capacity is not None:
                team.default_chat_capacity = default_chat_capacity
            await s.flush()
            _changed(s, tenant_id, team_id, True)
    except IntegrityError as e:
        raise Conflict(f"Team already exists: {name}", code="uniqueness") from e
    return team


async def delete_team(
    rt: Runtime,
    *,
    tenant_id: str,
    team_id: str,
    expected: TeamSnapshot | None = None,
    by_name: bool = False,
) -> None:
    """Delete a team (``team_id`` may be its name when ``by_name``); its members are left
    without a team."""
    match = (Team.id == team_id) | (Team.name == team_id) if by_name else Team.id == team_id
    try:
        async with rt.db.write() as s:
            team = (
                (
                    await s.execute(
                        select(Team).where(match, Team.tenant_id == tenant_id).with_for_update()
                    )
                )
                .scalars()
                .first()
            )
            if team is None:
                raise NotFound(f"Team not found: {team_id}")
            if expected is not None:
                seen = TeamSnapshot(team.name, tuple(sorted(await member_ids(s, team.id))))
                if seen != TeamSnapshot(expected.name, tuple(sorted(expected.member_ids))):
                    raise StaleTeam(team_id)
            await _set_members(s, team, [])
            await s.delete(team)
            _changed(s, tenant_id, team.id, True)
    except IntegrityError as e:
        raise Conflict("The team is still referenced and cannot be deleted") from e


# ---- the Administration API: members and supervisors named by loginId ------------------


async def _user_ids(
    s: AsyncSession, tenant_id: str, logins: Iterable[str], field: str
) -> list[str]:
    wanted = list(dict.fromkeys(logins))
    if not wanted:
        return []
    rows = await s.execute(
        select(User.login_id, User.id).where(User.tenant_id == tenant_id, User.login_id.in_(wanted))
    )
    by_login = dict(rows.tuples().all())
    missing = [x for x in wanted if x not in by_login]
    if missing:
        raise Invalid(f"{field}: no such user: {', '.join(missing)}", field=field)
    return [by_login[x] for x in wanted]


async def save_team(
    rt: Runtime,
    *,
    tenant_id: str,
    ref: str | None,
    data: TeamCreate | TeamUpdate,
) -> Team:
    """Create (``ref`` None) or change a team from an Administration API body."""
    fields = data.model_fields_set
    if data.name is not None:
        _check_name(data.name)
    try:
        async with rt.db.write() as s:
            if ref is None:
                assert data.name is not None
                if await _name_taken(s, tenant_id, data.name, None):
                    raise Conflict(f"Team already exists: {data.name}", field="name")
                team = Team(tenant_id=tenant_id, name=data.name)
                s.add(team)
                await s.flush()
            else:
                stmt = (
                    select(Team)
                    .where(Team.tenant_id == tenant_id, (Team.id == ref) | (Team.name == ref))
                    .with_for_update()
                )
                found = (await s.execute(stmt)).scalars().first()
                if found is None:
                    raise NotFound(f"Team not found: {ref}")
                team = found
                if data.name is not None and data.name != team.name:
                    if await _name_taken(s, tenant_id, data.name, team.id):
                        raise Conflict(f"Team already exists: {data.name}", field="name")
                    team.name = data.name
            if "description" in fields:
                team.description = data.description or None
            if data.default_chat_capacity is not None:
                team.default_chat_capacity = data.default_chat_capacity
            moved = False
            if data.members is not None:
                ids = await _user_ids(s, tenant_id, data.members, "members")
                moved = await _set_members(s, team, ids)
            if data.supervisors is not None:
                ids = await _user_ids(s, tenant_id, data.supervisors, "supervisors")
                await _set_supervisors(s, team, ids)
            await s.flush()
            _changed(s, tenant_id, team.id, moved)
    except IntegrityError as e:
        raise Conflict(f"Team already exists: {data.name}", field="name") from e
    return team
