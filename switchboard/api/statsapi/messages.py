"""Team messages (our extension): ``GET`` / ``POST /statsapi/chat_messages``.

Subscriptions receive them as ``chat_messages``; agents post theirs through the same
action (``switchboard.stats.actions.post_message``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from switchboard.api.common import body_doc, parse
from switchboard.api.statsapi.deps import StatsPrincipal, runtime
from switchboard.core.errors import NotFound
from switchboard.stats import actions, service
from switchboard.stats.models import TeamMessage
from switchboard.users.models import Privilege, User

router = APIRouter(tags=["Real-Time Statistics API"])


class MessageCreate(BaseModel):
    content: str = Field(min_length=1, max_length=actions.MAX_MESSAGE_CHARS)
    team_ids: list[str] | None = None
    is_urgent: bool = False


class MessageRead(BaseModel):
    id: str
    login_id: str
    first_name: str
    last_name: str
    send_time: str
    is_urgent: str
    content: str
    team_ids: list[str]


def to_read(m: TeamMessage) -> MessageRead:
    return MessageRead(
        id=m.id,
        login_id=m.sender_login_id,
        first_name=m.sender_first_name,
        last_name=m.sender_last_name,
        send_time=str(int(m.created_at.timestamp())),
        is_urgent="1" if m.is_urgent else "0",
        content=m.content,
        team_ids=list(m.team_ids or []),
    )


@router.post(
    "/chat_messages",
    summary="Post a team message (our extension)",
    response_model=MessageRead,
    openapi_extra=body_doc(MessageCreate),
    responses={400: {}, 401: {}, 403: {}, 404: {"description": "Unknown team"}, 415: {}},
)
async def post_message(request: Request, principal: StatsPrincipal) -> MessageRead:
    principal.require(Privilege.TEAM_MESSAGES)
    data = await parse(request, MessageCreate)
    msg = await actions.post_message(
        runtime(request),
        principal=principal,
        content=data.content,
        team_ids=data.team_ids,
        urgent=data.is_urgent,
    )
    return to_read(msg)


@router.get(
    "/chat_messages",
    summary="Read team messages (our extension)",
    response_model=list[MessageRead],
    responses={401: {}},
)
async def list_messages(
    request: Request,
    principal: StatsPrincipal,
    filter_text: Annotated[str, Query(alias="filter", max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[MessageRead]:
    async with runtime(request).db.read() as s:
        user = await s.get(User, principal.user_id)
        if user is None:
            raise NotFound("User not found")
        teams = await service.audience_of(session=s, user=user)
        rows = await service.list_messages(
            session=s, tenant_id=principal.tenant_id, team_ids=teams, text=filter_text, limit=limit
        )
    return [to_read(m) for m in rows]
