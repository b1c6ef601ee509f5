"""Reads of calls, and the ICE servers handed to browsers.

ICE servers: the tenant's own list (tenant setting ``ice_servers``) or the server's
(``SWITCHBOARD_ICE_SERVERS``), then the TURN servers (tenant setting ``turn_urls`` or
``SWITCHBOARD_TURN_URLS``) with credentials that expire: the TURN REST API scheme coturn
implements with ``use-auth-secret``/``static-auth-secret``: the username is
``"<expiry unix time>:<id>"`` and the credential ``base64(HMAC-SHA1(secret, username))``.
Nothing long-lived reaches a browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.calls.models import OPEN_STATES, Call
from switchboard.core.settings import Settings
from switchboard.tenants.models import Tenant


def turn_credentials(
    secret: str, ident: str, *, ttl: int, now: float | None = None
) -> dict[str, str]:
    """``{"username", "credential"}`` valid for ``ttl`` seconds (TURN REST API)."""
    expiry = int(now if now is not None else time.time()) + max(1, ttl)
    username = f"{expiry}:{ident}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "credential": base64.b64encode(digest).decode()}


def _urls(server: dict[str, Any]) -> list[str]:
    urls = server.get("urls") or server.get("url") or []
    if isinstance(urls, str):
        urls = [urls]
    return [str(u) for u in urls if u]


async def ice_servers(
    *, session: AsyncSession, settings: Settings, tenant_id: str, now: float | None = None
) -> list[dict[str, Any]]:
    """The seed's ``{"url", "username"?, "credential"?}`` items, one per URL."""
    tenant = await session.get(Tenant, tenant_id)
    own = tenant.setting("ice_servers") if tenant is not None else None
    configured = own if isinstance(own, list) else settings.ice_servers
    out: list[dict[str, Any]] = []
    for server in configured:
        if not isinstance(server, dict):
            continue
        for url in _urls(server):
            item: dict[str, Any] = {"url": url}
            for key in ("username", "credential"):
                if server.get(key):
                    item[key] = server[key]
            out.append(item)
    turn = tenant.setting("turn_urls") if tenant is not None else None
    turn_urls = [str(u) for u in turn] if isinstance(turn, list) else settings.turn_urls
    if turn_urls and settings.turn_secret:
        creds = turn_credentials(
            settings.turn_secret, tenant_id, ttl=settings.turn_ttl_seconds, now=now
        )
        out.extend({"url": url, **creds} for url in turn_urls)
    return out


async def get(*, session: AsyncSession, tenant_id: str, call_id: str) -> Call | None:
    call = await session.get(Call, call_id)
    return call if call is not None and call.tenant_id == tenant_id else None


async def for_interaction(
    *, session: AsyncSession, tenant_id: str, interaction_id: str
) -> Sequence[Call]:
    return (
        (
            await session.execute(
                select(Call)
                .where(Call.tenant_id == tenant_id, Call.interaction_id == interaction_id)
                .order_by(Call.requested_at, Call.id)
            )
        )
        .scalars()
        .all()
    )


async def open_for_chat(*, session: AsyncSession, chat_id: str) -> Call | None:
    found: Call | None = (
        await session.execute(
            select(Call)
            .where(Call.chat_id == chat_id, Call.state.in_(OPEN_STATES))
            .order_by(Call.requested_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return found
