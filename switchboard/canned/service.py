"""Reading and searching canned responses; filling their ``$(PARAM)`` placeholders."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.canned.models import CannedResponse
from switchboard.canned.schemas import CannedForAgent, CannedRead
from switchboard.core.errors import Invalid, NotFound
from switchboard.services.models import Service

# $(NAME) or $(NAME|fallback); NAME as the chat parameters spell them
PLACEHOLDER = re.compile(r"\$\(\s*([A-Za-z0-9_.\-]+)\s*(?:\|([^)]*))?\)")


def placeholders(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)))


def fill(text: str, params: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """``text`` with each placeholder replaced by the parameter of that name (matched
    case-insensitively), else its fallback; placeholders with neither stay as written
    and are returned as missing."""
    lower = {str(k).lower(): v for k, v in (params or {}).items()}
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        value = lower.get(m.group(1).lower())
        if value not in (None, ""):
            return str(value)
        if m.group(2) is not None:
            return m.group(2)
        if m.group(1) not in missing:
            missing.append(m.group(1))
        return m.group(0)

    return PLACEHOLDER.sub(sub, text), missing


async def find(
    *, session: AsyncSession, tenant_id: str, ref: str, lock: bool = False
) -> CannedResponse:
    stmt = select(CannedResponse).where(
        CannedResponse.tenant_id == tenant_id,
        (CannedResponse.id == ref) | (CannedResponse.shortcut == ref),
    )
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalars().first()
    if found is None:
        raise NotFound(f"Canned response not found: {ref}")
    return found


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(
    *,
    session: AsyncSession,
    tenant_id: str,
    q: str | None = None,
    category: str | None = None,
    service_id: str | None = None,
    any_service: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[CannedResponse]:
    """The tenant's canned responses whose title, text, shortcut, category or tags
    contain every word of ``q`` (case-insensitive). ``any_service`` False keeps those of
    ``service_id`` and those for every service."""
    for text in (q, category):  # PostgreSQL stores no NUL: a 400, never a driver error
        if text is not None and "\x00" in text:
            raise Invalid("NUL characters are not allowed in a search")
    offset = min(max(0, offset), 2**31 - 1)
    stmt = select(CannedResponse).where(CannedResponse.tenant_id == tenant_id)
    for word in (q or "").split()[:10]:
        pattern = _like(word)
        stmt = stmt.where(
            or_(
                func.lower(CannedResponse.title).like(pattern, escape="\\"),
                func.lower(CannedResponse.text).like(pattern, escape="\\"),
                func.lower(func.coalesce(CannedResponse.shortcut, "")).like(pattern, escape="\\"),
                func.lower(func.coalesce(CannedResponse.category, "")).like(pattern, escape="\\"),
                func.lower(func.cast(CannedResponse.tags, CannedResponse.text.type)).like(
                    pattern, escape="\\"
                ),
            )
        )
    if category:
        stmt = stmt.where(CannedResponse.category == category)
    if not any_service:
        stmt = stmt.where(
            or_(CannedResponse.service_id.is_(None), CannedResponse.service_id == service_id)
        )
    stmt = stmt.order_by(
        func.coalesce(CannedResponse.category, ""), CannedResponse.title, CannedResponse.id
    )
    return (await session.execute(stmt.limit(limit).offset(offset))).scalars().all()


async def to_read(*, session: AsyncSession, canned: CannedResponse) -> CannedRead:
    svc = await session.get(Service, canned.service_id) if canned.service_id else None
    return CannedRead(
        id=canned.id,
        title=canned.title,
        text=canned.text,
        category=canned.category,
        shortcut=canned.shortcut,
        service=svc.name if svc else None,
        tags=list(canned.tags or []),
        placeholders=placeholders(canned.text),
    )


def for_agent(canned: CannedResponse, params: Mapping[str, Any] | None) -> CannedForAgent:
    text, missing = fill(canned.text, params) if params is not None else (canned.text, [])
    return CannedForAgent(
        id=canned.id,
        title=canned.title,
        category=canned.category,
        shortcut=canned.shortcut,
        tags=list(canned.tags or []),
        text=text,
        template=canned.text,
        missing=missing if params is not None else placeholders(canned.text),
    )
