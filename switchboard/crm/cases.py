"""Where cases live (setting ``crm_provider``):

* ``none`` (default): Switchboard alone; a case is a label the scenario or an agent puts
  on chats (``chats/{id}`` ``case_id``), closing it is recorded on the chat, nothing is
  called;
* ``webhook``: a CRM of the operator's is told, with a JSON POST to
  ``SWITCHBOARD_CRM_WEBHOOK_URL``, ``{"action": "close_case", "tenant", "case_id",
  "chat_id"}``; any answer but 2xx, or no answer within ``crm_timeout_seconds``, is the
  CRM's error: the customer's Close Case then answers HTTP 500 with code 5602 ("CRM
  server responded with error", seed 003) and the case stays open.

``rt.providers["crm"]`` may hold one ``CaseSystem`` for every tenant (tests).
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from switchboard.core.runtime import Runtime

PROVIDER_KEY = "crm"


class CrmError(Exception):
    """The CRM refused the request or could not be reached."""


class CaseSystem(Protocol):
    async def close_case(self, *, tenant: str, case_id: str, chat_id: str) -> None:
        """Close the case in the CRM; ``CrmError`` when it cannot."""


class NoCrm:
    """Cases live in Switchboard only: nothing to tell anyone."""

    async def close_case(self, *, tenant: str, case_id: str, chat_id: str) -> None:
        return None


class WebhookCrm:
    """A CRM reached through one webhook URL of the operator's."""

    def __init__(self, url: str, *, timeout: float = 10.0, transport: Any = None) -> None:
        self.url = url
        self.timeout = timeout
        self.transport = transport

    async def close_case(self, *, tenant: str, case_id: str, chat_id: str) -> None:
        payload = {"action": "close_case", "tenant": tenant, "case_id": case_id, "chat_id": chat_id}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.post(self.url, json=payload)
        except httpx.HTTPError as e:
            raise CrmError(f"CRM not reachable: {e}") from e
        if not response.is_success:
            raise CrmError(f"CRM answered HTTP {response.status_code}")


def case_system(rt: Runtime) -> CaseSystem:
    given: CaseSystem | None = rt.providers.get(PROVIDER_KEY)
    if given is not None:
        return given
    s = rt.settings
    if s.crm_provider == "webhook" and s.crm_webhook_url:
        return WebhookCrm(s.crm_webhook_url, timeout=s.crm_timeout_seconds)
    return NoCrm()
