"""What the dialer needs from the agents domain, behind a small protocol.

``AgentsDomainPool`` delegates to ``switchboard.agents.actions`` (row-locked claims of a
ready agent with a free ``voice`` slot: outbound calls share it with inbound calls).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from switchboard.core.runtime import Runtime

MEDIA = "outbound"


class AgentPool(Protocol):
    async def claim(
        self, *, tenant_id: str, required_skills: Mapping[str, int], exclude: Iterable[str] = ()
    ) -> str | None: ...

    async def release(self, *, tenant_id: str, user_id: str, wrap_up: bool = False) -> None: ...

    async def finish_wrap_up(self, *, tenant_id: str, user_id: str) -> None: ...

    async def notify(self, *, tenant_id: str, user_id: str, event: Mapping[str, Any]) -> None: ...


class AgentsDomainPool:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    async def claim(
        self, *, tenant_id: str, required_skills: Mapping[str, int], exclude: Iterable[str] = ()
    ) -> str | None:
        from switchboard.agents.actions import claim_agent

        return await claim_agent(
            self._rt,
            tenant_id=tenant_id,
            media=MEDIA,
            required_skills=required_skills,
            exclude=exclude,
        )

    async def release(self, *, tenant_id: str, user_id: str, wrap_up: bool = False) -> None:
        from switchboard.agents.actions import release_agent

        await release_agent(
            self._rt, tenant_id=tenant_id, user_id=user_id, media=MEDIA, wrap_up=wrap_up
        )

    async def finish_wrap_up(self, *, tenant_id: str, user_id: str) -> None:
        from switchboard.agents.actions import finish_wrap_up

        await finish_wrap_up(self._rt, tenant_id=tenant_id, user_id=user_id, media=MEDIA)

    async def notify(self, *, tenant_id: str, user_id: str, event: Mapping[str, Any]) -> None:
        from switchboard.agents.actions import notify_agent

        await notify_agent(self._rt, tenant_id=tenant_id, user_id=user_id, event=event)


def routing_topic(tenant_id: str) -> str:
    """Published by the agents domain when an agent may have become available."""
    from switchboard.agents.actions import routing_topic as topic

    return topic(tenant_id)
