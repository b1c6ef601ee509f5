"""Operations on cases that involve the CRM."""

from __future__ import annotations

import logging

from switchboard.chats import actions as chats
from switchboard.chats.models import ChatSession
from switchboard.core.errors import DomainError, NotAcceptable
from switchboard.core.runtime import Runtime
from switchboard.crm.cases import CrmError, case_system

log = logging.getLogger(__name__)


def crm_failed() -> DomainError:
    err = DomainError("CRM server responded with error.", code="5602")
    err.status = 500
    err.kind = "crm_error"
    return err


async def close_case(
    rt: Runtime, *, tenant_id: str, tenant: str, chat: ChatSession, client_key: str
) -> str:
    """The customer closes the case of ``chat``: the CRM first (500/5602 when it fails:
    the case stays open), then the chat records it (406/5601 without a case). Closing a
    closed case again calls nobody."""
    if not chat.case_id:
        raise NotAcceptable("No case is specified for this session.", code="5601")
    if chat.case_closed_at is None:
        try:
            await case_system(rt).close_case(tenant=tenant, case_id=chat.case_id, chat_id=chat.id)
        except CrmError as e:
            log.warning("closing case %s of chat %s: %s", chat.case_id, chat.id, e)
            raise crm_failed() from e
    return await chats.close_case(rt, tenant_id=tenant_id, chat_id=chat.id, client_key=client_key)
